#!/usr/bin/env bash
# make gpu-bundle: what a GPU machine without internet or Debian packages needs to build iris,
# unpacked into .gpu-bundle/ (it travels with the working tree; keep it small):
#   .gpu-bundle/usr/...                 headers and libraries of the Debian packages below (dpkg -x),
#                                       used with `make PREFIX=.gpu-bundle` (CMake's IRIS_PREFIX)
#   .gpu-bundle/fashion-mnist-mini/     the first 2048 train / 1024 test Fashion-MNIST images (IDX,
#                                       gzip), enough for `vit train --quick` on the GPU, if installed here
# Leaves out: the CUDA toolkit, the compiler and CMake (the GPU machine has them), and building.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(libeigen3-dev libstb-dev doctest-dev libsentencepiece-dev libsentencepiece0 zlib1g-dev zlib1g)
bundle=.gpu-bundle
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$bundle"
mkdir -p "$bundle"
echo "gpu-bundle: downloading ${PACKAGES[*]}"
(cd "$work" && apt-get download "${PACKAGES[@]}" >"$work/apt.log" 2>&1) || {
  echo "gpu-bundle: apt-get download failed (see below); try: sudo apt-get update" >&2
  tail -n 5 "$work/apt.log" >&2
  exit 1
}
for deb in "$work"/*.deb; do dpkg -x "$deb" "$bundle"; done
rm -rf "$bundle/usr/share/doc" "$bundle/usr/share/lintian" "$bundle/usr/share/man"

# zlib1g-dev's libz.so is an absolute link to /lib/.../libz.so.1.2.13, which another system may
# not have: point it at the copy in the bundle instead (the program still loads the system's
# libz.so.1 at run time when the bundle's folder holds no file of that name).
lib=$bundle/usr/lib/x86_64-linux-gnu
zreal=$(cd "$bundle/lib/x86_64-linux-gnu" && ls libz.so.1.* | head -n 1)
cp "$bundle/lib/x86_64-linux-gnu/$zreal" "$lib/$zreal"
ln -sf "$zreal" "$lib/libz.so"
rm -rf "$bundle/lib" "$lib"/libstb.*   # stb is used as headers only (image/stb_impl.cpp)

# Every package's version, for the record.
for deb in "$work"/*.deb; do dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb"; done > "$bundle/PACKAGES"

# A slice of Fashion-MNIST for the app smoke test on the GPU machine.
fmnist=${IRIS_DATA:-/usr/share/datasets/fashion-mnist}
if [[ -f $fmnist/train-images-idx3-ubyte.gz ]]; then
  python3 - "$fmnist" "$bundle/fashion-mnist-mini" <<'EOF'
import gzip, os, struct, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for prefix, count in (("train", 2048), ("t10k", 1024)):
    for kind in ("images-idx3", "labels-idx1"):
        name = f"{prefix}-{kind}-ubyte.gz"
        with gzip.open(os.path.join(src, name)) as f:
            data = f.read()
        ndim = data[3]
        dims = list(struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim]))
        per_item = 1
        for d in dims[1:]:
            per_item *= d
        n = min(count, dims[0])
        dims[0] = n
        head = data[:4] + struct.pack(">" + "I" * ndim, *dims)
        body = data[4 + 4 * ndim:4 + 4 * ndim + n * per_item]
        with open(os.path.join(dst, name), "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
                f.write(head + body)
EOF
  echo "gpu-bundle: Fashion-MNIST slice in $bundle/fashion-mnist-mini"
else
  echo "gpu-bundle: no Fashion-MNIST at $fmnist (make deps); the GPU check will skip the app smoke test"
fi

size=$(du -sm "$bundle" | cut -f1)
echo "gpu-bundle: $bundle is ${size} MiB:"
sed 's/^/  /' "$bundle/PACKAGES"
if (( size > 40 )); then
  echo "gpu-bundle: over 40 MiB; the working tree travels with a 64 MiB limit" >&2
  exit 1
fi
echo "gpu-bundle: build with  make build PREFIX=$bundle  (scripts/gpu-check.sh uses it when present)"
