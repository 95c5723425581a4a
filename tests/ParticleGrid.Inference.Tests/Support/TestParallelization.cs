// Every test here drives libtorch, which already uses all (two) cores for one forward pass; running test
// classes side by side only makes them slower and their timings meaningless.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
