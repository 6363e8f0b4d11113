/** The readable form of a `diagnose` event: sections of aligned key/value lines, then the config. */
import { stringify } from 'yaml';
import type { DiagnoseEvent } from '../events/types.js';
import { formatDuration } from '../config/duration.js';
import type { Palette } from './terminal.js';

export function renderDiagnose(event: DiagnoseEvent, c: Palette): string {
  const ok = (text: string) => `${c.green('✓')} ${text}`;
  const bad = (text: string) => `${c.red('✗')} ${text}`;
  const lines: string[] = [];
  lines.push(c.bold('devloop diagnose'));
  lines.push(`  config        ${event.configFile}`);
  lines.push(`  profiles      ${event.activeProfiles.length ? event.activeProfiles.join(', ') : 'none active'}`);
  lines.push(
    `  kube context  ${event.kube ? `${event.kube.context} (server ${event.kube.server}, namespace ${event.kube.namespace})` : `none${event.kubeError ? c.dim(` — ${event.kubeError}`) : ''}`}`,
  );
  lines.push(`  docker        ${event.docker.ok ? ok(`answers (server ${event.docker.version ?? 'unknown'})`) : bad(`does not answer${event.docker.error ? `: ${event.docker.error}` : ''}`)}`);
  if (event.registries.length === 0) lines.push(`  registries    ${c.dim('none named (no defaultRepo, no registry host in images)')}`);
  for (const registry of event.registries) {
    const state = registry.ok ? ok(`answers (HTTP ${registry.status})`) : bad(`does not answer${registry.error ? `: ${registry.error}` : ''}`);
    lines.push(`  registry      ${registry.host} ${state}`);
  }
  lines.push('');
  lines.push(c.bold('artifacts'));
  if (event.artifacts.length === 0) lines.push(`  ${c.dim('none')}`);
  for (const artifact of event.artifacts) {
    const inputs = artifact.error
      ? bad(artifact.error)
      : `${artifact.inputFiles} input file${artifact.inputFiles === 1 ? '' : 's'}, hashed in ${artifact.hashMs}ms${artifact.digest ? c.dim(` (${artifact.digest.slice(0, 19)}…)`) : ''}`;
    lines.push(`  ${c.bold(artifact.image)}  ${artifact.builder}  ${c.dim(artifact.context)}`);
    lines.push(`    ${inputs}`);
  }
  lines.push('');
  lines.push(c.bold('effective config') + c.dim(' (after profiles and defaults)'));
  const shown = { ...event.config, deploy: { ...event.config.deploy, statusCheck: { timeout: formatDuration(event.config.deploy.statusCheck.timeout) } } };
  lines.push(
    stringify(shown, { lineWidth: 0 })
      .trimEnd()
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n'),
  );
  return `${lines.join('\n')}\n`;
}
