// djc allocates many small, short-lived values (the JSON records of each step); mimalloc serves
// them faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    django_conformance::harness::cli::main()
}
