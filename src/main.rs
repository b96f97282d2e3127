fn main() -> std::process::ExitCode {
    django_conformance::harness::cli::main()
}
