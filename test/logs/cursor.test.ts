import { describe, expect, it } from 'vitest';
import { LogCursor, sinceTimeOf, splitTimestamp } from '../../src/logs/cursor.js';

describe('log timestamps', () => {
  it('splits kubelet timestamps at nanosecond precision', () => {
    const a = splitTimestamp('2024-05-01T10:00:00.123456789Z hello world')!;
    expect(a.text).toBe('hello world');
    expect(a.ns).toBe(BigInt(Date.parse('2024-05-01T10:00:00Z')) * 1_000_000n + 123_456_789n);
    const b = splitTimestamp('2024-05-01T10:00:00.1Z x')!;
    expect(b.ns - a.ns).toBe(100_000_000n - 123_456_789n);
    expect(splitTimestamp('2024-05-01T12:00:00+02:00 y')!.ns).toBe(BigInt(Date.parse('2024-05-01T10:00:00Z')) * 1_000_000n);
    expect(splitTimestamp('no timestamp')).toBeUndefined();
  });

  it('asks for sinceTime at second precision', () => {
    const { ns } = splitTimestamp('2024-05-01T10:00:07.999999999Z x')!;
    expect(sinceTimeOf(ns)).toBe('2024-05-01T10:00:07Z');
  });

  it('drops the lines a resumed stream repeats, including ones sharing the last timestamp', () => {
    const cursor = new LogCursor();
    const t = (s: string): bigint => splitTimestamp(`2024-05-01T10:00:${s}Z x`)!.ns;
    const first = cursor.begin();
    expect([t('00.1'), t('01.5'), t('01.5')].map(first)).toEqual([true, true, true]);
    expect(cursor.sinceTime()).toBe('2024-05-01T10:00:01Z');
    // The resumed stream starts at 10:00:01 and repeats 01.5 twice before a third 01.5 and newer lines.
    const second = cursor.begin();
    expect([t('01.2'), t('01.5'), t('01.5'), t('01.5'), t('02.0')].map(second)).toEqual([false, false, false, true, true]);
    const third = cursor.begin();
    expect([t('02.0'), t('02.1')].map(third)).toEqual([false, true]);
  });
});
