# shellcheck shell=bash
# Bad images, bad command lines and crashing guests: a one-line error that
# names what is wrong, a meaningful exit status, never a crash or a hang.

BAD=$WORK/bad
mkdir -p "$BAD"
"$BUILD/write-bad-images" "$BAD"
echo "just text" >"$BAD/not-elf.elf"
head -c 1000 "$G/hello.elf" >"$BAD/cut-short.elf"

bad_image() { # NAME FILE PATTERN
        run_case "bad image: $1" 65 -- "$FTVMM" run "$2"
        expect_err "$3"
        expect_err "$2"
        expect_one_line_error
        end_case
}
bad_image "not ELF" "$BAD/not-elf.elf" "not an ELF file"
bad_image "truncated header" "$BAD/truncated.elf" "truncated|past the end"
bad_image "cut-short real image" "$BAD/cut-short.elf" "past the end"
bad_image "no PVH note" "$BAD/no-pvh-note.elf" "no PVH entry note"
bad_image "segment outside RAM" "$BAD/outside-ram.elf" "outside guest RAM"
bad_image "absurd segment size" "$BAD/absurd-size.elf" "outside guest RAM"
bad_image "host executable" "/bin/true" "not an executable"

run_case "missing image file" 66 -- "$FTVMM" run "$BAD/does-not-exist.elf"
expect_err "does-not-exist.elf: No such file"
end_case

run_case "unknown option" 64 -- "$FTVMM" run --frobnicate "$G/hello.elf"
expect_err "unknown option '--frobnicate'"
end_case

run_case "bad --mem value" 64 -- "$FTVMM" run --mem lots "$G/hello.elf"
expect_err "--mem 'lots'"
end_case

run_case "run --help documents every flag" 0 -- "$FTVMM" run --help
for flag in --mem --cmdline --console --timeout --exit-status --stats --until --snapshot --restore --help; do
        expect_out -- "$flag"
done
end_case

run_case "unknown command" 64 -- "$FTVMM" frobnicate
expect_err "unknown command 'frobnicate'"
end_case

crash_case() { # MODE STATUS PATTERN
        run_case "guest crash: $1 (--strict-io)" "$2" -- "$FTVMM" run --strict-io --timeout 60 --cmdline "mode=$1" "$G/crash.elf"
        expect_err "$3"
        expect_one_line_error
        end_case
}
crash_case port 70 "unknown port address 0x2f0.*rip=0x"
crash_case triple 70 "triple fault.*previous exit was at rip=0x"
crash_case halt 70 "halted with interrupts disabled"

# Without --strict-io, a port no device claims is answered as on a PC with
# nothing there: the guest reads all ones, goes on, and exits with status 4
# (its "the machine survived" status), the address reported once.
run_case "an unclaimed port is answered as no device and reported once" 4 -- \
        "$FTVMM" run --stats --timeout 60 --cmdline "mode=port" "$G/crash.elf"
expect_err "unclaimed port write of 1 byte\\(s\\) at 0x2f0 answered as no device"
expect_err "1 unclaimed accesses to 1 addresses"
end_case

# A fault the guest kernel handles is the guest's business: it reports the
# exception on its console and exits with status 3.
run_case "guest crash: user-fault is reported by the guest" 3 -- \
        "$FTVMM" run --timeout 60 --cmdline "mode=user-fault" "$G/crash.elf"
expect_out "^guest: exception 14 .*cpl=3"
end_case

for sub in "help --help" "version --help" "--help"; do
        run_case "ftvmm $sub" 0 -- "$FTVMM" $sub
        expect_out "Usage: ftvmm"
        end_case
done
