/**
 * Every code a DevloopError can carry. The README's "Error codes" table lists each of them once
 * (test/errors/codes.test.ts keeps the two in step); a code not listed here fails typecheck.
 */
export type ErrorCode =
  // Command line and commands
  /** A bad flag or argument (exit 2). */
  | 'USAGE'
  /** `devloop init` would overwrite existing files (exit 2; `--force` overwrites). */
  | 'INIT_WOULD_OVERWRITE'
  /** The template `devloop init` asked for is not installed with devloop. */
  | 'INIT_TEMPLATE_MISSING'
  /** Another `devloop dev` session runs for this project. */
  | 'DEV_ALREADY_RUNNING'
  /** Ctrl-C (exit 130) or SIGTERM (exit 143) stopped the command. */
  | 'INTERRUPTED'
  /** `q` ended `devloop dev` (exit 0). */
  | 'QUIT'
  /** Something unexpected (a bug); `--verbose` shows the stack. */
  | 'INTERNAL'
  /** One or more pre-flight checks failed; each is reported with its own code. */
  | 'PREFLIGHT_FAILED'
  // Configuration (exit 2)
  /** The config file does not exist. */
  | 'CONFIG_NOT_FOUND'
  /** The config file exists but cannot be read. */
  | 'CONFIG_UNREADABLE'
  /** YAML syntax error in the config file (file:line:col). */
  | 'CONFIG_YAML'
  /** A value or key in the config is invalid (file:line:col, field). */
  | 'CONFIG_INVALID'
  /** A `${VAR}` substitution in the config cannot be resolved. */
  | 'CONFIG_INTERPOLATION'
  /** A profile's JSON patch does not apply. */
  | 'CONFIG_PATCH'
  /** `--profile` names a profile the file does not define. */
  | 'PROFILE_UNKNOWN'
  /** A `dockerfile` lies outside its artifact's context. */
  | 'DOCKERFILE_OUTSIDE'
  /** The tag template gives an invalid image tag. */
  | 'TAG_INVALID'
  /** The tag template names an unknown field. */
  | 'TAG_TEMPLATE_FIELD'
  /** `SOURCE_DATE_EPOCH` is not a whole number of seconds. */
  | 'SOURCE_DATE_EPOCH'
  /** The `oci` builder got an artifact without an `oci` section. */
  | 'OCI_NOT_CONFIGURED'
  /** `oci.platform` is not `os/arch[/variant]`. */
  | 'OCI_PLATFORM'
  /** An `oci` layer's `from` leaves the artifact context. */
  | 'OCI_LAYER_OUTSIDE_CONTEXT'
  /** An `oci` layer's glob matches no file. */
  | 'OCI_LAYER_EMPTY'
  /** An `oci` layer's path does not exist. */
  | 'OCI_LAYER_MISSING'
  /** An `oci` layer's `to` is not absolute, or a file would land on `/`. */
  | 'OCI_LAYER_TARGET'
  /** A `deploy.kustomize.paths` entry has no kustomization file. */
  | 'KUSTOMIZATION_NOT_FOUND'
  /** A Helm release's `chart` has no readable Chart.yaml. */
  | 'HELM_CHART_NOT_FOUND'
  /** A Helm release's `valuesFiles` entry does not exist. */
  | 'HELM_VALUES_NOT_FOUND'
  // Build: compile, docker, tag, load
  /** Nothing to push to: no `build.defaultRepo` and an image without a registry host. */
  | 'NO_REGISTRY'
  /** `compile.command` is empty. */
  | 'COMPILE_EMPTY'
  /** The compile command is not on PATH. */
  | 'COMPILE_NOT_FOUND'
  /** The compile command exited non-zero (with its last output line). */
  | 'COMPILE_FAILED'
  /** Some artifacts failed to build; each failure is reported with its own code. */
  | 'BUILD_FAILED'
  /** The artifact's Dockerfile does not exist. */
  | 'DOCKERFILE_MISSING'
  /** The docker CLI is not on PATH. */
  | 'DOCKER_NOT_FOUND'
  /** The Docker daemon does not answer. */
  | 'DOCKER_UNAVAILABLE'
  /** `docker build` failed (with the step's last output line). */
  | 'DOCKER_BUILD_FAILED'
  /** `docker push` failed. */
  | 'DOCKER_PUSH_FAILED'
  /** `docker push` printed no digest. */
  | 'DOCKER_PUSH_NO_DIGEST'
  /** The nodes run several platforms; the docker builder makes one per image. */
  | 'DOCKER_MULTI_PLATFORM'
  /** An image the Dockerfile names is unreachable (connection refused, DNS, timeout). */
  | 'BASE_IMAGE_UNREACHABLE'
  /** An image the Dockerfile names does not exist in its registry. */
  | 'BASE_IMAGE_NOT_FOUND'
  /** A base image's registry refuses it (denied, unauthorized). */
  | 'BASE_IMAGE_AUTH'
  /** A base image's registry speaks plain HTTP where Docker expected HTTPS. */
  | 'BASE_IMAGE_INSECURE'
  /** Any other failure pulling a base image. */
  | 'BASE_IMAGE_PULL_FAILED'
  /** A tag template uses git, but no commit is known for the artifact. */
  | 'TAG_NO_GIT'
  /** The gitCommit tag policy finds no git, or no repository with a commit. */
  | 'TAG_GIT_FAILED'
  /** Loading the image into the local cluster (kind/k3d/minikube) failed. */
  | 'LOAD_FAILED'
  /** The kind/k3d CLI needed to load the image is not on PATH. */
  | 'LOAD_TOOL_NOT_FOUND'
  /** The minikube CLI is not on PATH. */
  | 'MINIKUBE_NOT_FOUND'
  /** `minikube docker-env` failed. */
  | 'MINIKUBE_DOCKER_ENV'
  /** A binary going into the image is for another architecture, or a custom image for another platform. */
  | 'PLATFORM_MISMATCH'
  /** An image reference (or its digest) is malformed. */
  | 'IMAGE_REFERENCE'
  // The oci builder and registries
  /** The `oci.from` base image does not exist in its registry. */
  | 'OCI_BASE_NOT_FOUND'
  /** The base has no manifest for the wanted platform. */
  | 'OCI_PLATFORM_UNAVAILABLE'
  /** The base uses a manifest type other than OCI / Docker v2 schema 2. */
  | 'OCI_BASE_UNSUPPORTED'
  /** A symlink in a layer source points outside the context. */
  | 'OCI_SYMLINK_OUTSIDE_CONTEXT'
  /** A symlink in a layer source points to nothing. */
  | 'OCI_SYMLINK_BROKEN'
  /** A file changed size while its layer was written. */
  | 'OCI_FILE_CHANGED'
  /** The registry refuses the credentials (401/403). */
  | 'REGISTRY_AUTH'
  /** The registry cannot be reached (after the retries). */
  | 'REGISTRY_UNREACHABLE'
  /** The registry answered 5xx (after the retries). */
  | 'REGISTRY_SERVER_ERROR'
  /** The registry did not answer in time (after the retries). */
  | 'REGISTRY_TIMEOUT'
  /** The registry to push to speaks plain HTTP where Docker expected HTTPS. */
  | 'REGISTRY_INSECURE'
  /** The registry answered against the distribution protocol. */
  | 'REGISTRY_PROTOCOL'
  /** The registry reported another digest than devloop computed. */
  | 'REGISTRY_DIGEST_MISMATCH'
  /** The registry has no such image or tag. */
  | 'REGISTRY_MANIFEST_UNKNOWN'
  /** The registry has no such blob. */
  | 'REGISTRY_BLOB_UNKNOWN'
  /** A `docker-credential-*` helper is missing or failed. */
  | 'CREDENTIAL_HELPER'
  /** The docker credentials file cannot be read or holds a bad `auth`. */
  | 'DOCKER_CONFIG'
  // The custom builder
  /** The custom build script exited non-zero or was not found. */
  | 'CUSTOM_BUILD_FAILED'
  /** The custom build script outlived its timeout. */
  | 'CUSTOM_BUILD_TIMEOUT'
  /** The custom build script produced no image. */
  | 'CUSTOM_NO_IMAGE'
  /** The OCI layout the script wrote is invalid. */
  | 'CUSTOM_BAD_LAYOUT'
  /** The tarball the script wrote is invalid. */
  | 'CUSTOM_BAD_TARBALL'
  /** `docker load` of the script's image failed. */
  | 'CUSTOM_LOAD_FAILED'
  // Render and manifests
  /** No file matches the `manifests` globs. */
  | 'MANIFESTS_NOT_FOUND'
  /** A manifest file cannot be read. */
  | 'MANIFEST_UNREADABLE'
  /** YAML syntax error in a manifest (file:line). */
  | 'MANIFEST_INVALID_YAML'
  /** A manifest document is not a mapping. */
  | 'MANIFEST_NOT_OBJECT'
  /** A manifest document lacks apiVersion, kind or metadata.name. */
  | 'MANIFEST_MISSING_FIELD'
  /** Two documents describe one object. */
  | 'MANIFEST_DUPLICATE'
  /** `kubectl kustomize` failed. */
  | 'KUSTOMIZE_FAILED'
  /** `helm template` failed. */
  | 'HELM_TEMPLATE_FAILED'
  /** `helm dependency build` failed. */
  | 'HELM_DEPENDENCY_FAILED'
  /** kubectl/kustomize or helm (or the configured binary) is missing. */
  | 'RENDER_TOOL_NOT_FOUND'
  /** A renderer ran longer than 120 s. */
  | 'RENDER_TOOL_TIMEOUT'
  // Kubernetes: connection, apply, status, delete
  /** No kubeconfig: `$KUBECONFIG` unset or naming no file, and no ~/.kube/config. */
  | 'KUBECONFIG_MISSING'
  /** The kubeconfig cannot be read or parsed. */
  | 'KUBECONFIG_INVALID'
  /** `--kube-context` is not in the kubeconfig. */
  | 'KUBE_CONTEXT_UNKNOWN'
  /** The kubeconfig has no current context. */
  | 'KUBE_NO_CONTEXT'
  /** The API server cannot be reached. */
  | 'KUBE_UNREACHABLE'
  /** The API server refuses the credentials (401). */
  | 'KUBE_UNAUTHORIZED'
  /** RBAC forbids the request (403). */
  | 'KUBE_FORBIDDEN'
  /** An object (usually its namespace) does not exist (404). */
  | 'KUBE_NOT_FOUND'
  /** The server rejects an object (422, or a wrongly typed value). */
  | 'KUBE_INVALID'
  /** Discovery has no resource for a manifest's kind. */
  | 'KUBE_UNKNOWN_KIND'
  /** Any other API error (5xx after retries). */
  | 'KUBE_API_ERROR'
  /** A CRD did not become Established within 60 s. */
  | 'KUBE_CRD_NOT_ESTABLISHED'
  /** A container cannot pull its image. */
  | 'STATUS_IMAGE_PULL'
  /** A container keeps crashing. */
  | 'STATUS_CRASH_LOOP'
  /** A pod cannot be scheduled. */
  | 'STATUS_UNSCHEDULABLE'
  /** A container's configuration is broken (missing ConfigMap, Secret, …). */
  | 'STATUS_CONTAINER_CONFIG'
  /** A workload's rollout failed. */
  | 'STATUS_FAILED'
  /** A workload did not become ready in time. */
  | 'STATUS_TIMEOUT'
  /** Another run or writer changed a workload while the status check waited. */
  | 'STATUS_OVERWRITTEN'
  /** Deleted objects were still present after 60 s (finalizers). */
  | 'DELETE_TIMEOUT'
  // Port-forwarding
  /** A `portForward` resource is not service/NAME, deployment/NAME or pod/NAME. */
  | 'FORWARD_RESOURCE_INVALID'
  /** `localPort` is outside 1–65535. */
  | 'FORWARD_PORT_INVALID'
  /** `localPort` is below 1024 without the right to bind it. */
  | 'FORWARD_PORT_PRIVILEGED'
  /** The requested port and the 99 above it are all taken. */
  | 'FORWARD_NO_FREE_PORT'
  /** The forward's local address is not an address of this machine. */
  | 'FORWARD_ADDRESS_INVALID'
  /** Listening on the local port failed. */
  | 'FORWARD_LISTEN_FAILED'
  /** The forwarded resource does not exist in that namespace. */
  | 'FORWARD_NOT_FOUND'
  /** Reading the forwarded resource failed. */
  | 'FORWARD_LOOKUP_FAILED'
  /** A Service without selector. */
  | 'FORWARD_NO_SELECTOR'
  /** The Service or container has no such port. */
  | 'FORWARD_PORT_UNKNOWN'
  /** A connection waited `holdTimeout` and no pod became Ready. */
  | 'FORWARD_NO_READY_POD'
  /** The forward was closed while a connection waited for a pod. */
  | 'FORWARD_CLOSED'
  // File sync
  /** A changed file's real location is outside the artifact context. */
  | 'SYNC_OUTSIDE_CONTEXT'
  /** A file would be written outside its sync `dest`. */
  | 'SYNC_OUTSIDE_DEST'
  /** The container lacks a tool sync needs (tar, sh, head); the artifact is rebuilt instead. */
  | 'SYNC_UNAVAILABLE'
  /** No running container of the artifact to sync into. */
  | 'SYNC_NO_CONTAINERS'
  /** Copying or removing files in a container failed. */
  | 'SYNC_FAILED'
  /** A live update's new process exited (its last log lines are shown); the next save restarts it. */
  | 'RESTART_CRASHED'
  /** A live update's new process did not listen on its ports in time. */
  | 'RESTART_TIMEOUT'
  // Hooks
  /** A hook exited non-zero or could not start. */
  | 'HOOK_FAILED'
  /** A hook outlived its timeout. */
  | 'HOOK_TIMEOUT'
  /** A container hook names no artifact. */
  | 'HOOK_NO_ARTIFACT'
  /** A container hook where there is no cluster. */
  | 'HOOK_NO_CLUSTER';
