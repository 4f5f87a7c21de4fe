// `lethe engine`: what the tensor engine will use on this machine: CPU, caches, SIMD width,
// threads, the GEMM micro-kernel and cache blocking derived from the caches, int8 dot products,
// and how far apart two of its cores are (a measured round trip).
using System.CommandLine;
using System.Runtime.Intrinsics;

namespace Lethe.Cli.Commands;

public static class EngineInfoCommand
{
    public static Command Build()
    {
        var cmd = new Command("engine", "Show the tensor engine's view of this machine (CPU, caches, SIMD, threads, GEMM blocking)");
        cmd.SetAction(parse =>
        {
            var o = parse.InvocationConfiguration.Output;
            var (kc, mc, nc) = Lethe.Tensors.EngineKernels.GemmBlocking;
            o.WriteLine($"cpu:          {Lethe.Tensors.CpuInfo.Model}");
            o.WriteLine($"caches:       {Lethe.Tensors.CpuInfo.Caches} (from {Lethe.Tensors.CpuInfo.CacheSource})");
            o.WriteLine($"cores:        {Environment.ProcessorCount}");
            o.WriteLine($"threads:      {Lethe.Tensors.Engine.Threads}");
            o.WriteLine($"Vector512:    {(Vector512.IsHardwareAccelerated ? "yes" : "no")}");
            o.WriteLine($"Vector256:    {(Vector256.IsHardwareAccelerated ? "yes" : "no")}");
            o.WriteLine($"FMA:          {(System.Runtime.Intrinsics.X86.Fma.IsSupported ? "yes" : System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported ? "yes (128-bit NEON)" : "no")}");
            o.WriteLine($"gemm kernel:  {Lethe.Tensors.EngineKernels.GemmKernel}");
            o.WriteLine($"gemm blocks:  KC {kc}, MC {mc}, NC {nc} (derived from the caches)");
            o.WriteLine($"int8 dot:     {Lethe.Tensors.EngineKernels.Int8Dot} (for --dtype q8_0)");
            o.WriteLine($"fused ops:    16 lanes as {Lethe.Tensors.EngineKernels.FusedLanes} (the same bits with every layout)");
            int prefetch = Lethe.Tensors.EngineKernels.Int8PrefetchBytes;
            o.WriteLine($"int8 weights: {(prefetch > 0 ? $"prefetched {prefetch} bytes ahead" : "not prefetched in software")} (from the L2 size)");
            o.WriteLine($"int8 scales:  kept in fp32 for models up to {Lethe.Tensors.EngineKernels.Int8WideScalesUpTo >> 20} MB of int8 weights (half the L3 of the threads)");
            o.WriteLine($"kv rows:      not prefetched in decoding for models up to {Lethe.Tensors.EngineKernels.KvRowsCachedUpTo >> 20} MB of weights and KV cache (the L3 of the threads)");
            o.WriteLine($"f16 widening: {Lethe.Tensors.EngineKernels.F16Widening}");
            o.WriteLine($"memory pages: {Lethe.Tensors.EngineKernels.MemoryPages}");
            o.WriteLine($"workers:      {(Lethe.Tensors.EngineKernels.WorkersPlaced ? "woken on a CPU other than the caller's (pinned when they wake from sleep)" : "placed by the OS")}");
            o.WriteLine($"decoding:     {(Lethe.Tensors.Engine.Threads > 1 ? "one-sequence steps timed, and run on one core while that is faster (the same tokens)" : "one thread")}");
            o.WriteLine($"core to core: {CoreToCore(Lethe.Tensors.CoreDistance.RoundTripNs())}");
            return 0;
        });
        return cmd;
    }

    /// <summary>The round trip between two cores and what it says (a VM's host may move its cores, and with them this figure).</summary>
    internal static string CoreToCore(double ns) => Lethe.Tensors.CoreDistance.Classify(ns) switch
    {
        "one core" => "one core",
        "near" => $"{ns:F0} ns round trip between two threads (near: the cores share a cache)",
        "far" => $"{ns:F0} ns round trip between two threads (far: no shared cache; small parallel ops gain little)",
        "busy" => $"{ns:F0} ns round trip between two threads (busy: another process is using a core)",
        _ => $"{ns:F0} ns round trip between two threads",
    };
}
