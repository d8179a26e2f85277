#!/usr/bin/env bash
# Mutation testing of the recovery core with cargo-mutants: src/coordinator/mod.rs, src/ids.rs,
# src/recovery/*.rs (the machine, the pass driver, the facade and the types the embedder sees),
# src/mailbox.rs and src/gt/, each mutant tested against `cargo test --features mock,std,log`
# (the test targets that exercise those files; see MUTANT_GROUPS below).
#
#   bash .ci/mutants.sh          # every mutant
#   bash .ci/mutants.sh K/N      # only shard K of N (K = 0..N-1), e.g. 0/2 and 1/2 on two machines
#
# Fails (exit 1) when a mutant is missed that .ci/mutants-reviewed.txt does not list as
# equivalent, when cargo-mutants itself fails (baseline red, bad arguments), or when the run does
# not end within the time budget. Prints the score per file either way.
#
# .ci/mutants-reviewed.txt: one reviewed mutant a line, `<name as cargo-mutants prints it> # <why
# no test can catch it>`. Names are compared without their line:column (src moves), so
# `src/x.rs:12:5: replace f -> bool with true` matches `src/x.rs: replace f -> bool with true`;
# each line covers one mutant of that name (list a name twice for two such mutants).
#
# Environment: MUTANTS_BUDGET (seconds for the whole script, install included; default 1140 = 19
# min), MUTANTS_JOBS (parallel builds, default 2), MUTANTS_TIMEOUT (seconds per mutant's test
# run, default 20), MUTANTS_OUT (default target/mutants), MUTANTS_GROUP (run only the group of
# that name, `coordinator` or `vf`), MUTANTS_IN_DIFF (a `git diff` file: only the mutants on the
# lines it adds, cargo-mutants' --in-diff; for re-checking a change after a full run).
set -euo pipefail
# The whole script is one block, read before it runs: editing this file mid-run is harmless.
{
cd "$(dirname "$0")/.."

start=$(date +%s)
budget=${MUTANTS_BUDGET:-1140}
jobs=${MUTANTS_JOBS:-2}
test_timeout=${MUTANTS_TIMEOUT:-20}
out=${MUTANTS_OUT:-target/mutants}
reviewed=.ci/mutants-reviewed.txt
version=27.1.0
shard=${1:-}
if [[ -n "$shard" && ! "$shard" =~ ^[0-9]+/[0-9]+$ ]]; then
  echo "usage: bash .ci/mutants.sh [K/N]" >&2
  exit 1
fi

if ! command -v cargo-mutants >/dev/null; then
  echo "== installing cargo-mutants $version"
  cargo install cargo-mutants --locked --version "$version"
fi
installed=$(cargo mutants --version | awk '{print $2}')
if [[ "$installed" != "$version" ]]; then
  echo "warning: cargo-mutants $installed installed, the reviewed list was made with $version" >&2
fi

# Every cargo-mutants build dir gets a target of its own; no debug info (linking is most of a
# mutant's build); no backtraces (a caught mutant panics, often many times); no colour codes.
unset CARGO_TARGET_DIR
export CARGO_PROFILE_DEV_DEBUG=0 RUST_BACKTRACE=0 CARGO_TERM_COLOR=never

# Groups: the files to mutate, and the test targets (tests/*.rs) NOT run against them, to keep
# each mutant's build and test short (linking the test binaries is most of a mutant's build):
# the ones that cannot reach those files (the wire proptests, the mock's own tests, the loom
# models, empty without --cfg loom), and the ones that were never the first to catch a mutant
# of the group in the reference run (`cargo test` runs the lib's unit tests, then tests/*.rs in
# name order, and stops at the first that fails). A new test file is run by default.
# The coordinator group also runs the unit tests (`--lib`: src/coordinator/tests.rs and
# policy_tests.rs; GtSet's are there too); the recovery group runs only tests/*.rs.
RECOVERY_FILES="src/recovery/machine.rs src/recovery/pass.rs src/recovery/vf.rs src/recovery/config.rs src/recovery/error.rs src/recovery/hooks.rs src/recovery/report.rs"
MUTANT_GROUPS=(
  "coordinator|src/coordinator/mod.rs src/ids.rs|--lib|gt hardening loom mailbox memirq mmio mock_guc stress sweep wire_memirq wire_props"
  "vf|$RECOVERY_FILES src/mailbox.rs src/gt/mod.rs src/gt/error.rs src/gt/info.rs||coordinator_stress loom mmio mock_guc stress sweep wire_memirq wire_props"
)

rm -rf "$out"
mkdir -p "$out"
incomplete=
for group in "${MUTANT_GROUPS[@]}"; do
  IFS='|' read -r name files lib skip <<<"$group"
  [[ -n "${MUTANTS_GROUP:-}" && "$name" != "$MUTANTS_GROUP" ]] && continue
  args=(--no-shuffle --gitignore true --colors never -j "$jobs" --timeout "$test_timeout"
    # `log` for tests/logging.rs, which checks the lines whose only effect is to be logged.
    --features mock,std,log --output "$out/$name"
    # Unit tests live in files of their own (coordinator/tests.rs, policy_tests.rs,
    # recovery/vf/tests.rs), never listed above; this keeps any inline `mod tests` out too.
    --exclude-re '(in|replace) tests::'
    # The default methods of RecoveryHooks are no-ops (`let _ = arg;`, then `()` or `Ok(())`):
    # replacing a body with what it already is makes no mutant.
    --exclude-re ': replace RecoveryHooks::')
  for f in $files; do args+=(--file "$f"); done
  [[ -n "$lib" ]] && args+=(--cargo-arg=--lib)
  for path in tests/*.rs; do
    t=$(basename "$path" .rs)
    [[ " $skip " == *" $t "* ]] || args+=("--cargo-arg=--test=$t")
  done
  [[ -n "$shard" ]] && args+=(--shard "$shard")
  [[ -n "${MUTANTS_IN_DIFF:-}" ]] && args+=(--in-diff "$MUTANTS_IN_DIFF")
  left=$((budget - ($(date +%s) - start)))
  if ((left <= 30)); then
    incomplete="group $name not started"
    break
  fi
  echo "== cargo mutants ${args[*]} (${left}s left)"
  rc=0
  timeout --kill-after=30 "$left" cargo mutants "${args[@]}" || rc=$?
  case $rc in
    0 | 2 | 3) ;; # all caught / some missed / some timed out: judged below
    124 | 137)
      incomplete="group $name cut short"
      break
      ;;
    *)
      echo "mutants: cargo mutants failed for group $name (exit $rc)" >&2
      exit 1
      ;;
  esac
done

# Outcomes, names without line:column.
norm() { sed -E 's/^([^:]+):[0-9]+:[0-9]+: /\1: /'; }
for kind in caught missed timeout unviable; do
  cat "$out"/*/mutants.out/"$kind".txt 2>/dev/null | norm | sort >"$out/$kind.txt" || true
done
grep -vE '^[[:space:]]*(#|$)' "$reviewed" | sed -E 's/[[:space:]]+#[[:space:]].*$//' | norm | sort \
  >"$out/reviewed.txt"

# Missed mutants not covered by the reviewed list (each reviewed line covers one mutant).
awk 'NR == FNR { ok[$0]++; next } { if (ok[$0] > 0) ok[$0]--; else print }' \
  "$out/reviewed.txt" "$out/missed.txt" >"$out/unreviewed.txt"
# Reviewed entries beyond the missed mutants of their name, for a name a test now catches: the
# extra entries can go (meaningful on a full run; a shard sees only some mutants of a name).
awk 'FILENAME ~ /reviewed/ { r[$0]++; next } FILENAME ~ /missed/ { m[$0]++; next } { c[$0]++ }
  END { for (n in r) if (r[n] > m[n] && c[n] > 0) print n }' \
  "$out/reviewed.txt" "$out/missed.txt" "$out/caught.txt" "$out/timeout.txt" | sort >"$out/stale.txt"
# Reviewed entries that name no mutant at all: the code they describe is gone. Only a whole run
# (no shard, group or diff filter, not cut short) has seen every mutant to tell.
full=
[[ -z "$shard" && -z "${MUTANTS_GROUP:-}" && -z "${MUTANTS_IN_DIFF:-}" && -z "$incomplete" ]] && full=1
sort -u "$out"/{caught,missed,timeout,unviable}.txt >"$out/all.txt"
if [[ -n "$full" ]]; then
  sort -u "$out/reviewed.txt" | comm -23 - "$out/all.txt" >"$out/gone.txt"
else
  : >"$out/gone.txt"
fi

echo
echo "== mutation score per file${shard:+ (shard $shard)}: (caught + timeout) / (caught + timeout + missed)"
printf '%-26s %7s %7s %8s %9s %8s %8s %11s\n' file caught timeout missed reviewed unviable score "score(eqv)"
for f in src/coordinator/mod.rs src/ids.rs $RECOVERY_FILES src/mailbox.rs src/gt/mod.rs src/gt/error.rs src/gt/info.rs; do
  count() { grep -c "^$f: " "$out/$1.txt" || true; }
  c=$(count caught) t=$(count timeout) m=$(count missed) u=$(count unviable) x=$(count unreviewed)
  r=$((m - x))
  awk -v f="$f" -v c="$c" -v t="$t" -v m="$m" -v r="$r" -v u="$u" -v x="$x" 'BEGIN {
    k = c + t; n = k + m; e = k + x
    printf "%-26s %7d %7d %8d %9d %8d %7.1f%% %10.1f%%\n", f, c, t, m, r, u,
      n ? 100 * k / n : 100, e ? 100 * k / e : 100 }'
done
echo "(score(eqv): the reviewed equivalent mutants left out; timeouts count as caught)"

if [[ -s "$out/stale.txt" ]]; then
  echo
  echo "note: more entries in $reviewed than missed mutants of these names (a test catches them now):"
  sed 's/^/  /' "$out/stale.txt"
fi
if [[ -s "$out/timeout.txt" ]]; then
  echo
  echo "note: caught only by the ${test_timeout}s timeout (slow; a fast-failing test is better):"
  sed 's/^/  /' "$out/timeout.txt"
fi
echo
echo "mutants: done in $(($(date +%s) - start))s"
if [[ -n "$incomplete" ]]; then
  echo "FAILED: out of time (budget ${budget}s): $incomplete; the scores above are partial" >&2
  exit 1
fi
if [[ -s "$out/gone.txt" ]]; then
  echo
  echo "FAILED: entries of $reviewed that name no mutant of this run (remove them):" >&2
  sed 's/^/  /' "$out/gone.txt" >&2
  exit 1
fi
if [[ -s "$out/unreviewed.txt" ]]; then
  echo
  echo "FAILED: missed mutants that $reviewed does not list:" >&2
  sed 's/^/  /' "$out/unreviewed.txt" >&2
  echo "Add a test that catches each, or (if no behaviour can tell it apart) a line" >&2
  echo "'<name> # <reason>' to $reviewed. Logs and diffs: $out/*/mutants.out/" >&2
  exit 1
fi
echo "mutants: every missed mutant is reviewed"
exit 0
}
