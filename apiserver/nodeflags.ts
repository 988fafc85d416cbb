// Node (V8) flags for the API server process, given by whatever starts it
// (`skiff up`, the test harness, the benchmarks); V8 reads heap sizes only at
// start-up. A create allocates tens of KiB of short-lived objects, so at
// ~1,500 creates/s the default 16 MiB young generation is scavenged several
// times a second and promotes request garbage into the old space, whose
// collections showed up as the create p99: with 64 MiB semi-spaces,
// bench:apiserver p99 went from 107/107 ms to 90/94 ms (same CPU per create,
// ~50 MiB more RSS). Like GOGC in a kube-apiserver manifest: tuning, not code.
export const apiServerNodeFlags = ['--max-semi-space-size=64'];
