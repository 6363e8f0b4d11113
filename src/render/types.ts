/** A Kubernetes object as devloop handles it: plain JSON data, keys in the order the user wrote them. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** Where an object was written, for messages ("k8s/hello.yaml:12"). */
export interface ManifestSource {
  /** Path relative to the config folder (posix separators). */
  file: string;
  /** 1-based line of the document's first line. */
  line: number;
}

export interface ManifestObject {
  object: KubeObject;
  source: ManifestSource;
}

/** The built (or planned) image for one artifact, as render needs it. */
export interface ImageReplacement {
  /** The artifact's `image` as written in manifests, e.g. "hello". */
  image: string;
  /** What replaces it: "127.0.0.1:5000/hello:abc@sha256:…" */
  ref: string;
}

export function describeObject(object: Pick<KubeObject, 'kind' | 'metadata'>): string {
  return `${object.kind}/${object.metadata.name}`;
}

export function describeSource(source: ManifestSource): string {
  return `${source.file}:${source.line}`;
}
