#!/usr/bin/env bash
# Builds (or checks) the real-Blender test chroot for tests/gui: Debian 13 (trixie) with its
# Blender 4.3 + Xvfb + xdotool + ImageMagick, made with debootstrap. Cached outside the
# repository (a fresh clone and CI reuse it) and rebuilt when the recipe version changes.
#   scripts/gui_chroot.sh          build if missing or stale, then check
#   scripts/gui_chroot.sh --check  exit 0 when the cache is ready, 1 otherwise (no network)
set -euo pipefail
ROOT=${DIFFV2M_GUI_ROOT:-/var/cache/diffv2m-gui}
CHROOT=$ROOT/trixie
RECIPE="1 trixie blender=4.3 xvfb xdotool imagemagick"   # bump when the package set changes
STAMP=$CHROOT/.diffv2m-gui-recipe
MIRROR=${DIFFV2M_GUI_MIRROR:-http://deb.debian.org/debian}
PACKAGES=blender,xvfb,xauth,xdotool,imagemagick,x11-utils,fonts-dejavu-core,ca-certificates

ready() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$RECIPE" ] &&
    chroot "$CHROOT" sh -c 'command -v blender && command -v Xvfb && command -v xdotool && command -v import' >/dev/null 2>&1
}
if [ "${1:-}" = "--check" ]; then ready; exit; fi
if ready; then echo "gui chroot ready: $CHROOT"; exit 0; fi

[ "$(id -u)" = 0 ] || { echo "gui chroot: needs root (debootstrap + chroot)" >&2; exit 1; }
if ! command -v debootstrap >/dev/null; then
  apt-get install -y -q debootstrap >/dev/null || { echo "gui chroot: cannot install debootstrap" >&2; exit 1; }
fi
mkdir -p "$ROOT"
rm -rf "$CHROOT.tmp"
# minbase + --include keeps it to what the tier runs; recommends pulled by blender are skipped.
debootstrap --variant=minbase --include="$PACKAGES" trixie "$CHROOT.tmp" "$MIRROR"
chroot "$CHROOT.tmp" apt-get clean
rm -rf "$CHROOT"
mv "$CHROOT.tmp" "$CHROOT"
echo "$RECIPE" >"$STAMP"
ready || { echo "gui chroot: built but blender/Xvfb/xdotool/import missing" >&2; exit 1; }
chroot "$CHROOT" blender --version 2>/dev/null | head -1
echo "gui chroot ready: $CHROOT"
