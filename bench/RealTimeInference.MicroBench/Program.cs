using BenchmarkDotNet.Running;

// BenchmarkDotNet micro-benchmarks of the server's hot code, in-process (bench/micro.sh runs them).
BenchmarkSwitcher.FromAssembly(typeof(RealTimeInference.MicroBench.ReadingParseBench).Assembly).Run(args);
