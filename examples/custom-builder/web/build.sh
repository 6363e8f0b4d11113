#!/bin/sh
# devloop's custom builder contract: IMAGE, IMAGE_REPO, IMAGE_TAG, PUSH_IMAGE, BUILD_CONTEXT, PLATFORMS
# in the environment; push "$IMAGE" yourself, or leave a tarball in $DEVLOOP_IMAGE_TAR (or an OCI
# image layout in $DEVLOOP_OCI_LAYOUT) for devloop to push.
set -eu
local_tag="custom-web-build:$IMAGE_TAG"
docker build --quiet --tag "$local_tag" --build-arg BASE="$BASE" "$BUILD_CONTEXT"
if [ "$PUSH_IMAGE" = true ]; then
  docker save --output "$DEVLOOP_IMAGE_TAR" "$local_tag"
  docker rmi "$local_tag" > /dev/null
else
  docker tag "$local_tag" "$IMAGE"
fi
