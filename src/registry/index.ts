export { RegistryClient, type RegistryClientOptions, type FetchedManifest, type BlobPushResult, type PushBlobOptions } from './client.js';
export { blobFromBytes, blobFromFile, sha256Digest, type BlobSource } from './blob-source.js';
export { lookupCredential, dockerConfigPath, type RegistryCredential, type CredentialLookup } from './credentials.js';
export { parseImageReference, repositoryName, isLoopbackHost, registryBaseUrl, type ImageReference } from './reference.js';
export { parseChallenge, type AuthChallenge } from './challenge.js';
export * from './media-types.js';
