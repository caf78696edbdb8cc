#!/usr/bin/env bash
# Host-specific workaround for kind on these CI machines (no init system,
# cgroup v1, no CAP_SYS_RESOURCE): installs Debian's docker.io when missing
# and starts a private dockerd whose default runtime is a runc wrapper that
# drops CAP_SYS_RESOURCE (hack/runc-nosysres), with pod/node egress to the
# uplinks dropped in DOCKER-USER. `down` stops it and removes what `up` made
# (iptables chains, links, mounts, sysctls, /lib/modules if created); the
# image store in $GAMMA_DOCKER_DIR/data is kept (use `purge` to remove it).
#
# usage: hack/kind-docker-host.sh up|down|purge    (prints DOCKER_HOST=... on up)
set -euo pipefail
dir=${GAMMA_DOCKER_DIR:-/var/lib/gamma-conformance/docker}
sock=$dir/docker.sock
repo=$(cd "$(dirname "$0")/.." && pwd)
export PATH=/usr/bin:/usr/sbin:$PATH # Debian's docker 20.10 CLI, not a newer one earlier in PATH
sysctls=(net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables)

log() { printf '[%5ss] %s\n' "$SECONDS" "$*" >&2; }
die() { echo "kind-docker-host: $*" >&2; exit 1; }

uplinks() { ip -4 route show default; ip -6 route show default; } 2>/dev/null

sweep_iptables() { # delete chains starting with DOCKER, the rules jumping to them or naming docker bridges
	local fam table
	for fam in iptables ip6tables; do
		for table in filter nat; do
			"$fam-save" -t "$table" >/dev/null 2>&1 || continue
			"$fam-save" -t "$table" | awk -v t="$table" '
				/^:DOCKER/ { split(substr($1, 2), a, " "); chains[++n] = a[1]; next }
				/^-A / && $2 !~ /^DOCKER/ && (/ -j DOCKER/ || / br-[0-9a-f]+ / || / docker0 /) { sub(/^-A/, "-D"); dels[++m] = $0 }
				END { if (n + m == 0) exit; print "*" t; for (i = 1; i <= m; i++) print dels[i];
				      for (i = 1; i <= n; i++) print "-F " chains[i]; for (i = 1; i <= n; i++) print "-X " chains[i]; print "COMMIT" }' |
				{ in=$(cat); [[ -z $in ]] || "$fam-restore" -w --noflush <<<"$in"; }
		done
	done
}

up() {
	[[ $(id -u) == 0 ]] || die "needs root (it starts dockerd): run it as root"
	if [[ -S $sock ]] && docker -H "unix://$sock" version >/dev/null 2>&1; then
		echo "DOCKER_HOST=unix://$sock"; return
	fi
	if ! command -v dockerd >/dev/null; then
		log "installing docker.io (apt-get)"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
	fi
	mkdir -p "$dir/data" "$dir/exec"
	log "building the runc wrapper"
	(cd "$repo" && CGO_ENABLED=0 go build -o "$dir/runc-nosysres" ./hack/runc-nosysres)
	[[ -e $dir/sysctls ]] || for s in "${sysctls[@]}"; do
		v=$(sysctl -n "$s" 2>/dev/null) && echo "$s=$v"
	done >"$dir/sysctls"
	[[ -e $dir/forward-policy ]] || iptables -w -S FORWARD | awk '$1 == "-P" {print $3}' >"$dir/forward-policy" # dockerd sets DROP
	[[ -e /lib/modules || -e $dir/created-lib-modules ]] || touch "$dir/created-lib-modules" # kind bind-mounts it; dockerd creates it
	log "starting dockerd"
	setsid dockerd --data-root "$dir/data" --exec-root "$dir/exec" -H "unix://$sock" --pidfile "$dir/dockerd.pid" \
		--add-runtime "nosysres=$dir/runc-nosysres" --default-runtime nosysres --bridge=none \
		>"$dir/dockerd.log" 2>&1 </dev/null &
	for _ in $(seq 100); do
		docker -H "unix://$sock" version >/dev/null 2>&1 && break
		sleep 0.2
	done
	docker -H "unix://$sock" version >/dev/null 2>&1 || { tail -20 "$dir/dockerd.log" >&2; down; die "dockerd did not start (log above)"; }
	iptables -w -N DOCKER-USER 2>/dev/null || true # dockerd creates it with its first network; it keeps existing rules
	for dev in $(uplinks | awk '{for (i = 1; i < NF; i++) if ($i == "dev") print $(i+1)}' | sort -u); do
		iptables -w -I DOCKER-USER -o "$dev" -j DROP # kind nodes and pods never reach the outside
	done
	log "dockerd up"
	echo "DOCKER_HOST=unix://$sock"
}

down() {
	[[ $(id -u) == 0 ]] || die "needs root: run it as root"
	if [[ -s $dir/dockerd.pid ]]; then
		pid=$(cat "$dir/dockerd.pid")
		if kill -0 "$pid" 2>/dev/null; then
			log "stopping dockerd ($pid)"
			kill "$pid"
			for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
			kill -9 "$pid" 2>/dev/null || true
		fi
		rm -f "$dir/dockerd.pid"
	fi
	sweep_iptables
	if [[ -s $dir/forward-policy ]]; then
		iptables -w -P FORWARD "$(cat "$dir/forward-policy")"
		rm -f "$dir/forward-policy"
	fi
	for l in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^(br-[0-9a-f]{12}|docker0)$' || true); do
		ip link del "$l"
	done
	awk '{print $5}' /proc/self/mountinfo | { grep -E "^$dir(/|$)" || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
	rm -rf "$dir/exec" "$sock"
	if [[ -e $dir/created-lib-modules ]]; then
		rmdir /lib/modules 2>/dev/null || true
		rm -f "$dir/created-lib-modules"
	fi
	if [[ -e $dir/sysctls ]]; then
		# A local cluster (node bridge gamma0) that came up meanwhile needs forwarding: leave the sysctls to its own down.
		[[ -e /sys/class/net/gamma0 ]] || while IFS== read -r k v; do sysctl -qw "$k=$v" || true; done <"$dir/sysctls"
		rm -f "$dir/sysctls"
	fi
	log "docker host down"
}

case ${1:-} in
up) up ;;
down) down ;;
purge) down; rm -rf "$dir" ;;
*) die "usage: $0 up|down|purge" ;;
esac
