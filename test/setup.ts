import fc from "fast-check";

// Property tests run from a fixed seed so that every run (and CI) checks the same cases; set
// FC_SEED to explore other ones (fast-check prints the seed of any failure).
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261122) });
