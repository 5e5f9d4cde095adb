# Helpers for the integration tests: run a command, check its exit status,
# output and errors, and keep a pass/fail tally.
# shellcheck shell=bash

passed=0
failed=0
failures=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ftvmm-it.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# run_case NAME EXPECTED_STATUS -- COMMAND...: runs COMMAND with stdout in
# $WORK/out and stderr in $WORK/err; sets $status.
run_case() {
        case_name=$1 expected=$2
        shift 3
        set +e
        timeout --kill-after=5 60 "$@" </dev/null >"$WORK/out" 2>"$WORK/err"
        status=$?
        set -e
        case_ok=1
        if [[ $status -ne $expected ]]; then
                note "exit status $status, expected $expected"
        fi
}

# begin_case NAME: a case whose checks the caller makes itself (no single
# command's status to compare).
begin_case() {
        case_name=$1 case_ok=1
        : >"$WORK/out"
        : >"$WORK/err"
}

note() {
        case_ok=0
        echo "  $case_name: $*" >&2
}

expect_out() { grep -Eq -- "$1" "$WORK/out" || note "stdout lacks /$1/"; }
expect_err() { grep -Eq -- "$1" "$WORK/err" || note "stderr lacks /$1/"; }
expect_lines() {
        local n
        n=$(grep -Ec -- "$1" "$WORK/out" || true)
        [[ $n -eq $2 ]] || note "$n lines match /$1/, expected $2"
}
expect_one_line_error() {
        local n
        n=$(grep -c . "$WORK/err" || true)
        [[ $n -ge 1 && $n -le 2 ]] || note "stderr has $n lines, expected a one-line error"
}

end_case() {
        if [[ $case_ok -eq 1 ]]; then
                passed=$((passed + 1))
                echo "ok   $case_name"
        else
                failed=$((failed + 1))
                failures+=("$case_name")
                # Kept at once: if the VM freezes later in this file, the
                # file runs again, and this failure must still count.
                [[ -z ${PROGRESS:-} || -z ${progress_name:-} ]] ||
                        echo "$case_name" >>"$PROGRESS/$progress_name.failed"
                echo "FAIL $case_name"
                sed 's/^/    stdout: /' "$WORK/out" | head -n 20
                sed 's/^/    stderr: /' "$WORK/err" | head -n 20
        fi
}

# Output with its timing fields masked, so two platforms can be compared.
normalise() { sed -E 's/\b([a-z_]+_(ns|us|ms))=[0-9]+/\1=*/g; s/\r//g' "$1"; }

# A test file's tally, kept so that a run resumed in a new VM counts the
# files an earlier VM finished: "PASSED FAILED", then one failed case a line.
tally_before() { passed_before=$passed failed_before=$failed failures_before=${#failures[@]}; }
save_tally() { # FILE
        {
                echo "$((passed - passed_before)) $((failed - failed_before))"
                [[ ${#failures[@]} -eq $failures_before ]] || printf '%s\n' "${failures[@]:$failures_before}"
        } >"$1.tmp"
        mv "$1.tmp" "$1"
}
resume_tally() { # FILE
        local p f name
        read -r p f <"$1"
        passed=$((passed + p)) failed=$((failed + f))
        while IFS= read -r name; do failures+=("$name"); done < <(tail -n +2 "$1")
}

# Failures of attempts that a frozen VM cut short, not already counted.
count_failures_of_frozen_attempts() {
        local f name known seen
        for f in "${PROGRESS:-/nonexistent}"/*.failed; do
                [[ -f $f ]] || continue
                while IFS= read -r name; do
                        seen=0
                        for known in "${failures[@]}"; do [[ $known == "$name" ]] && seen=1; done
                        ((seen)) && continue
                        failures+=("$name")
                        failed=$((failed + 1))
                        echo "FAIL $name (in an attempt the frozen VM cut short)"
                done <"$f"
        done
}

summary() {
        echo "integration: ${#failures[@]} failure(s)${failures:+: ${failures[*]}}"
        echo "$passed passed, $failed failed"
        [[ $failed -eq 0 ]]
}
