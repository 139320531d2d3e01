#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library, the model pack and the test photos from npm into .deps/,
# extracting only what facegate needs and checking every file against the pinned SHA-256 sums below.
# Idempotent: with a warm cache it verifies checksums and exits in well under a second.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
deps="${FACEGATE_DEPS:-$root/.deps}"
cache="$deps/npm"
mkdir -p "$cache" "$deps/runtime" "$deps/models" "$deps/testimages"

# package@version  tarball sha256
packages=(
  "onnxruntime-node@1.30.0 6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75"
  "faceplugin-face-recognition-js@0.0.1 7ea06031d9a3f83753254fcff60506a07b81b46fc84d4ee024cd041f260ec1ba"
  "@vladmandic/face-api@1.7.15 0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"
  "playwright-core@1.65.1 6f5a60be62a4fddfbe7d10c448d8fbd54547da3358f2f8a04211440471ee863e"
)

# destination  sha256  package  path-in-tarball
files=(
  "runtime/libonnxruntime.so.1 ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23 onnxruntime-node@1.30.0 package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
  "models/fr_detect.onnx 6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854 faceplugin-face-recognition-js@0.0.1 package/model/fr_detect.onnx"
  "models/fr_landmark.onnx f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258 faceplugin-face-recognition-js@0.0.1 package/model/fr_landmark.onnx"
  "models/fr_feature.onnx 87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581 faceplugin-face-recognition-js@0.0.1 package/model/fr_feature.onnx"
  "models/fr_liveness.onnx afa783b7e902fdfcf323a7240cac2a1c580c25314ea4161129dc1b0d100dc32d faceplugin-face-recognition-js@0.0.1 package/model/fr_liveness.onnx"
  "models/fr_age.onnx 74c9b01700cb9ef96f7190a2230218414ff99d231415c4b091a755780cad5e8a faceplugin-face-recognition-js@0.0.1 package/model/fr_age.onnx"
  "models/fr_gender.onnx a003e8392a617ca834c7ca2c01e0895f5c354217fb56cd0373935e6e9b9c396e faceplugin-face-recognition-js@0.0.1 package/model/fr_gender.onnx"
  "models/fr_expression.onnx 88959314d9dc14d6c968cca31dc068e4350bf1944154e3bdd2eece5d0f318d05 faceplugin-face-recognition-js@0.0.1 package/model/fr_expression.onnx"
  "models/fr_pose.onnx 72d032ec941b7153bf8d3f2c03a4c165453cc7e63d479041ec7c6ef087e5839d faceplugin-face-recognition-js@0.0.1 package/model/fr_pose.onnx"
  "models/fr_eye.onnx 1afcea006abc1ccac3c517022abde0aa092bed74ff3c9fe6878483ef9e6e38de faceplugin-face-recognition-js@0.0.1 package/model/fr_eye.onnx"
  "testimages/sample1.jpg 8ecae4b267b2d3169e06e00c7dee97097aa2a94635d45216f7732a5f4943cb51 @vladmandic/face-api@1.7.15 package/demo/sample1.jpg"
  "testimages/sample2.jpg 7d2b60ae6f13bf30f422e04df87451081a02c83de469056f25afb44b7000c691 @vladmandic/face-api@1.7.15 package/demo/sample2.jpg"
  "testimages/sample3.jpg 8eb081c9efb14370fa94d9feab9e5fbeafd19a627491853a80c2bf67f7ffa936 @vladmandic/face-api@1.7.15 package/demo/sample3.jpg"
  "testimages/sample4.jpg 729efa5923061d40eb4ed5f267a18cc7b8ba6f852bb2757b16d8b7e4937476fc @vladmandic/face-api@1.7.15 package/demo/sample4.jpg"
  "testimages/sample5.jpg 6d45095ebb182d8f975c0790e0e4eefd86fbb40609cf4b271776d92e12662938 @vladmandic/face-api@1.7.15 package/demo/sample5.jpg"
  "testimages/sample6.jpg 9baad80f9d5e306fb9b8c0913d44445f1e95848df317530efb03d0934c57ba87 @vladmandic/face-api@1.7.15 package/demo/sample6.jpg"
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

# libjpeg-turbo headers make JPEG decoding several times faster (cgo; optional: without them the build uses
# image/jpeg). Debian's base images usually have them; install them when missing and we may.
# ffmpeg decodes video streams (files, RTSP, MJPEG, cameras) for facegate's video pipeline.
apt_missing=()
[ -f /usr/include/jpeglib.h ] || apt_missing+=(libjpeg62-turbo-dev)
command -v ffmpeg >/dev/null || apt_missing+=(ffmpeg)
# chromium runs the web console's end-to-end test (console/e2e), driven by playwright-core below.
[ -x /usr/bin/chromium ] || apt_missing+=(chromium)
if [ ${#apt_missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "deps: installing ${apt_missing[*]} (Debian)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null) ||
    echo "deps: could not install ${apt_missing[*]}; without libjpeg JPEG is decoded by image/jpeg, without ffmpeg video streams cannot run, without chromium the console's browser test skips" >&2
fi
command -v ffmpeg >/dev/null || echo "deps: ffmpeg not found: video streams and their tests will not run" >&2
[ -x /usr/bin/chromium ] || echo "deps: /usr/bin/chromium not found: the web console's browser test will not run" >&2

tarball_for() { # package@version -> cached tarball path (downloaded and verified on first use)
  local spec="$1" want="" line name
  for line in "${packages[@]}"; do
    set -- $line
    [ "$1" = "$spec" ] && want="$2"
  done
  [ -n "$want" ] || { echo "deps: no pinned checksum for $spec" >&2; exit 1; }
  name="$(echo "$spec" | tr '@/' '__').tgz"
  if [ ! -f "$cache/$name" ] || [ "$(sha "$cache/$name")" != "$want" ]; then
    echo "deps: fetching $spec from npm" >&2
    local tmp; tmp="$(mktemp -d)"
    # --ignore-scripts: onnxruntime-node's install script downloads GPU files from unreachable hosts.
    (cd "$tmp" && npm pack --ignore-scripts --silent "$spec" >/dev/null 2>"$tmp/err") || {
      cat "$tmp/err" >&2; echo "deps: npm pack $spec failed" >&2; exit 1; }
    mv "$tmp"/*.tgz "$cache/$name"
    rm -rf "$tmp"
    got="$(sha "$cache/$name")"
    if [ "$got" != "$want" ]; then
      echo "deps: $spec tarball sha256 $got, want $want" >&2; rm -f "$cache/$name"; exit 1
    fi
  fi
  echo "$cache/$name"
}

changed=0
for line in "${files[@]}"; do
  set -- $line
  dest="$deps/$1" want="$2" spec="$3" inner="$4"
  if [ -f "$dest" ] && [ "$(sha "$dest")" = "$want" ]; then continue; fi
  tgz="$(tarball_for "$spec")"
  tar -xzf "$tgz" -O "$inner" > "$dest.tmp"
  got="$(sha "$dest.tmp")"
  if [ "$got" != "$want" ]; then
    rm -f "$dest.tmp"; echo "deps: $1 sha256 $got, want $want" >&2; exit 1
  fi
  mv "$dest.tmp" "$dest"
  changed=$((changed+1))
done
# playwright-core (no dependencies of its own) drives the system chromium in the console's browser test. The
# whole verified tarball is unpacked into .deps/playwright-core; no install script runs, so it never downloads a
# browser (the test also sets PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 and passes executablePath).
pw_spec="playwright-core@1.65.1"
pw_dir="$deps/playwright-core"
# Only the browser test needs it, so a failed fetch is a warning (the test then skips), not an error.
if pw_tgz="$(tarball_for "$pw_spec")"; then
  if [ "$(cat "$pw_dir/.facegate-tarball-sha256" 2>/dev/null)" != "$(sha "$pw_tgz")" ]; then
    rm -rf "$pw_dir" "$pw_dir.tmp" && mkdir -p "$pw_dir.tmp"
    tar -xzf "$pw_tgz" -C "$pw_dir.tmp" --strip-components=1
    sha "$pw_tgz" > "$pw_dir.tmp/.facegate-tarball-sha256"
    mv "$pw_dir.tmp" "$pw_dir"
    changed=$((changed+1))
  fi
else
  echo "deps: $pw_spec not available: the web console's browser test will skip" >&2
fi

echo "deps: runtime, $(ls "$deps/models" | wc -l) models and $(ls "$deps/testimages" | wc -l) test images verified in $deps ($changed extracted)" >&2
