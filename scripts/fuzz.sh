#!/usr/bin/env bash
# Run every Fuzz* target in the repository for FUZZTIME each (default 10s).
#
#   scripts/fuzz.sh                 every target
#   FUZZTIME=1m scripts/fuzz.sh     longer
#   scripts/fuzz.sh ./kernel        only the targets of some packages
#
# A crash makes `go test -fuzz` write the failing input to
# <pkg>/testdata/fuzz/<Target>/<hash>; commit that file: from then on the
# plain `go test` replays it as a regular test case. The script runs every
# target, then fails if any of them failed. Minimising each newly
# interesting input is bounded too (FUZZMINIMIZETIME, default 2s): unbounded,
# it can take the whole budget of a short run.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}

if [ $# -gt 0 ]; then
	pkgs=("$@")
else
	mapfile -t pkgs < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . |
		grep -v '/testdata/' | xargs -r -n1 dirname | sort -u)
fi

# fuzz_once runs one target; its output goes to the terminal and to $log.
fuzz_once() {
	"$GO" test -run '^$' -fuzz "^${2}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "${FUZZMINIMIZETIME:-2s}" "$1" 2>&1 | tee "$log"
	return "${PIPESTATUS[0]}"
}

# engine_flake decides whether a failed run of target $2 in package $1 was
# the Go fuzzer's own failure rather than the target's. The engine reports
# "fuzzing process hung or terminated unexpectedly" when a worker does not
# answer within its fixed 10 s per input (golang/go#56238), which a loaded
# machine can cause with no fault in the target, and "context deadline
# exceeded" when -fuzztime ends while a worker is mid-input
# (golang/go#51484). A real failure writes an input that fails again when
# replayed by a plain go test; so the run counts as an engine flake only if
# the log shows one of those two messages and every input it wrote passes
# when replayed (those inputs are then removed: they are no regression
# cases), and none is slow to replay. $3 lists the corpus files that
# existed before the run.
engine_flake() {
	local pkg=$1 t=$2 before=$3 dir="$1/testdata/fuzz/$2" f
	grep -qE 'fuzzing process hung or terminated unexpectedly|context deadline exceeded' "$log" || return 1
	for f in $(ls "$dir" 2>/dev/null); do
		grep -qxF "$f" <<<"$before" && continue
		local t0=$SECONDS
		if ! "$GO" test -count=1 -run "^${t}/${f}\$" "$pkg" >/dev/null 2>&1; then
			echo "fuzz: $pkg $t: the input $dir/$f fails when replayed: a real failure"
			return 1
		fi
		# A replay that is itself slow is a slow input (the engine was right
		# to call it hung), not a flake. The replay includes building.
		if [ $((SECONDS - t0)) -gt 60 ]; then
			echo "fuzz: $pkg $t: replaying $dir/$f took $((SECONDS - t0)) s: a slow input"
			return 1
		fi
		echo "fuzz: $pkg $t: the input $dir/$f passes when replayed; removing it"
		rm -f "$dir/$f"
	done
	return 0
}

failed=()
flakes=()
total=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in "${pkgs[@]}"; do
	pkg=./${pkg#./}
	mapfile -t targets < <(grep -hoE '^func Fuzz[A-Za-z0-9_]*\(' "$pkg"/*_test.go | sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(/\1/' | sort -u)
	for t in "${targets[@]}"; do
		total=$((total + 1))
		echo "=== fuzz $pkg $t ($FUZZTIME)"
		before=$(ls "$pkg/testdata/fuzz/$t" 2>/dev/null)
		if fuzz_once "$pkg" "$t"; then
			continue
		fi
		if engine_flake "$pkg" "$t" "$before"; then
			echo "fuzz: $pkg $t: the Go fuzzing engine failed, not the target (see scripts/fuzz.sh, docs/reliability.md); running it once more"
			flakes+=("$pkg $t")
			if fuzz_once "$pkg" "$t"; then
				continue
			fi
		fi
		failed+=("$pkg $t")
	done
done
if [ ${#flakes[@]} -gt 0 ]; then
	echo "fuzz: the engine flaked (and the rerun passed) on: ${flakes[*]}"
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: ${#failed[@]} of $total targets failed:"
	printf '  %s\n' "${failed[@]}"
	echo "the failing inputs are in <pkg>/testdata/fuzz/<Target>/; commit them as regression cases"
	exit 1
fi
echo "fuzz: all $total targets ran for $FUZZTIME without a failure"
