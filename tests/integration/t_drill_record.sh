# shellcheck shell=bash
# A few runs of the record drill (scripts/drill-record; `make drill-record`
# runs 20): a recorder killed with SIGKILL has printed a prefix of what the
# replay of its log prints.

run_case "record killed at 4 seeded moments: printed output is a prefix of the replay" 0 -- \
        env BUILD="$BUILD" scripts/drill-record --runs 4 --seed "$SEED"
grep -E '^run [0-9]+:' "$WORK/out" | sed 's/^/    /'
expect_out "^drill-record: 4 runs, 4 passed$"
end_case
