#!/usr/bin/env bash
# The layering the README's Layout describes, checked on every `make test`: which folder's sources
# may include which. A folder may always include itself; anything not listed is an arrow the
# design forbids (e.g. losses -> models, tensor -> autograd, apps -> cuda, io -> data).
# Leaves out: system and third-party headers (only "folder/..." includes are checked) and cuda/,
# which may include anything below apps.
set -u
root=${1:-.}
cd "$root" || exit 2
declare -A allowed=(
  [geometry]="tensor"
  [tensor]=""
  [autograd]="tensor"
  [io]="tensor"
  [track]="tensor geometry"
  [metrics]="tensor geometry track"
  [image]="tensor io geometry"
  [nn]="tensor autograd io"
  [losses]="tensor autograd geometry"
  [data]="tensor autograd io image geometry"
  [models]="tensor autograd io nn losses geometry track"
  [apps]="tensor autograd io nn losses image data metrics models geometry track"
)
bad=0
for dir in "${!allowed[@]}"; do
  [[ -d $dir ]] || continue
  while IFS= read -r line; do
    file=${line%%:*}
    target=$(sed -E 's/.*#include "([a-z_0-9]+)\/.*/\1/' <<<"$line")
    [[ $target == "$dir" ]] && continue
    [[ " ${allowed[$dir]} " == *" $target "* ]] && continue
    echo "layering: $file includes $target/ (a $dir/ file may include: ${allowed[$dir]:-nothing outside $dir/})"
    bad=1
  done < <(grep -rnE '^#include "[a-z_0-9]+/' "$dir" --include='*.h' --include='*.cpp' | sed -E 's/:[0-9]+:/:/')
done
[[ $bad == 0 ]] && echo "layering: every include follows the layering"
exit $bad
