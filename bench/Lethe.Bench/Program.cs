// Lethe's benchmark programs: `dotnet run -c Release --project bench/Lethe.Bench -- <suite> [options]`.
// Each suite is one file with a static Run(string[] args) that prints one JSON object per line
// (measurements side by side with a peer, same run, same threads); it is registered by one line
// in Suites below.
namespace Lethe.Bench;

public static class Program
{
    private static readonly Dictionary<string, (string Help, Func<string[], int> Run)> Suites = new()
    {
        ["gemm"] = ("fp32 GEMM (f32/bf16 weights) vs OpenBLAS cblas_sgemm: gemm [--threads N] [--reps R] [--case SUBSTRING] [--extra] [--clock wall|cpu] [--settle-ms MS] [--turn-calls N (timed calls back to back per turn; default 5 with 2+ threads, else 1)] [--kc K --mc M --nc N] [--kernel scalar|vector128|avx2|avx512 (default: this CPU's best)] [--profile] [--no-peer] [--shared-pack-min FLOATS] [--pack-a-once FLOATS]", GemmBench.Run),
        ["handoff"] = ("what a microseconds-long Engine.For job costs on two cores, and what data written by one core and read by the other adds: handoff [--jobs N] [--rounds R] [--work-us US] [--gap-us US]", HandoffBench.Run),
        ["engine-for"] = ("how late Engine.For's second thread starts (after pauses, back to back): engine-for [--reps R] [--work-ms MS]", EngineForBench.Run),
        ["gemm-kernel"] = ("GEMM micro-kernel and packing in isolation, one thread (tuning): gemm-kernel [--reps R] [--clock cpu|wall] [--only driver-loops|pack-a-block] [--kc/--mc/--nc N]", GemmKernelBench.Run),
        ["model"] = ("SmolLM-135M-shaped model: forward, train step, decode vs PyTorch fp32: model [--threads N] [--reps R] [--case forward|train|decode|decode-ab|decode-lever|decode-heads] [--model DIR] [--no-peer] [--dtypes f32,bf16,f16,q8_0 (forward|train|decode; default f32,bf16,q8_0)] [--profile (train: thread CPU per op, forward/backward, to stderr; decode-ab: time in the Linear products and their GB/s of weights read, the attention and the rest)] (decode-ab: one thread and CPU time unless --threads is given, then wall clock, each repetition's cross-core round trip and placement (near, far, mixed or busy; Lethe.Tensors.CoreDistance) and a median per placement; --wall: wall clock with one thread) [--prefetch BYTES (decode-ab: how far ahead the int8 kernel prefetches W)] [--prompt P (decode-ab: prompt tokens before the 128 decoded, default 128)] [--kv-cache f32|bf16|f16 (decode-ab: how both sides' KV caches hold keys and values)] [--bf16-mapped (decode-ab: the bf16 side reads its weights from the mapped file instead of a copy on 2 MB pages)] [--fixed-width (decode-ab: every decoding step on all threads, DecodeWidth off; with --threads, each line gives the share of steps run on one core)] [--dot avx2|avx512|vector128|scalar (decode-ab: the 256-bit int8 sequence where the CPU has more; the 512-bit chunks where it also has AVX-VNNI)]; decode-lever --lever heads|stage|width|none: one decoding lever off against on, bf16 and q8_0 alternated, per placement, with the median per-repetition differences (heads: a layer's attention half as one job per KV head against two jobs; stage: products' results staged per chunk against written as they come; width: one-sequence steps timed and run on one core while faster (DecodeWidth) against all threads always; --model, default models/lethe-demo; decode-heads = --lever heads); decode also with q8_0 weights", ModelBench.Run),
        ["bandwidth"] = ("how fast this machine reads memory (a 512 MB buffer, past every cache), GB/s with 1 thread and with every core: the ceiling of memory-bound decoding: bandwidth [--threads N] [--passes P] [--mb M]", ReadBandwidth.Run),
        ["q8"] = ("decode products alone (M = 1, SmolLM-135M shapes): bf16 GEMV vs q8_0 Q8Gemm, GB/s of weights and as a share of the read bandwidth, one thread, CPU time: q8 [--reps R] [--stream-mb MB (bf16 copies streamed, default 384)] [--prefetch BYTES (how far ahead the int8 kernel prefetches W)] [--dot avx2|avx512|vector128|scalar (the AVX2 int8 dot product where a wider one exists; the 512-bit chunks where AVX-VNNI exists too)] [--resident (the shipped model's shapes, one copy: weights in cache, products bound by instructions)]", Q8Bench.Run),
        ["q8-layout"] = ("why Q8Matrix stores a chunk's 4 rows in 32-byte slices: the int8 values read one row after another or 4 rows together, on the rows-whole and the sliced layout, same values, weights in L2, L3 and memory, µs per product, one thread: q8-layout [--reps R]", Q8LayoutBench.Run),
        ["ops"] = ("fused ops in GB/s next to memcpy, and attention: ops [--threads N] [--reps R]", OpsBench.Run),
        ["lanes"] = ("each fused kernel with its 16 lanes as one Vector512 against two Vector256 halves (same bits), alternated, one thread: lanes [--reps R]", LanesBench.Run),
        ["attention"] = ("fused causal attention vs naive and PyTorch eager: attention [T=N] [reps=R] [decode=Hq,Hkv,Dh,S[,S…] (decoding steps only, one thread; also over 48 layers' fp32, bf16 and f16 caches in turn, so that the rows come cold as in a model's step)] [tiles (AVX2 block products: 4x4 vs 6x2 tiles, thread CPU)]", a => { AttentionBench.Run(a); return 0; }),
        ["unlearn"] = ("training-free unlearning: generation overhead of KSD/NA/pruning adapters, fitting time at two probe sizes: unlearn [--threads N] [--clock cpu|wall] [--reps R] [--prompt P] [--new N] [--texts T] [--text-tokens K]", UnlearnBench.Run),
        ["serve"] = ("OpenAI-compatible server under load: 1, 4, 8 concurrent HTTP clients on 127.0.0.1, tokens/s, p50/p99 latency: serve [--model DIR] [--requests N] [--max-tokens M] [--clients 1,4,8] [--temperature T] [--threads N] [--scheduler | --loop]", ServeBench.Run),
        ["unlearn-train"] = ("RMU and NPO training steps on the SmolLM-135M-shaped model (4x512 tokens) vs PyTorch fp32, RMU peak memory vs its estimate: unlearn-train [--threads N] [--reps R] [--case rmu|npo] [--layer L] [--no-peer]", UnlearnTrainBench.Run),
        ["targets"] = ("the engine's speed targets (issue 16) on this CPU in one go: GEMM vs OpenBLAS at 1 and 2 threads, bf16 vs f32, the training step vs PyTorch, q8_0 vs bf16 decoding (shipped model and SmolLM-135M shape, 1 thread and both cores), and, informational, memory-bound decoding's GB/s against the read bandwidth; the suites' JSON lines, one JSON line per check, and a markdown table naming the CPU on stderr: targets [--only gemm|train|decode] [--gemm-reps R (one thread, default 5)] [--gemm2-reps R (two threads, default 15)] [--gemm2-runs N (two-thread runs, each case held at its median ratio over them, default 3)] [--train-reps R] [--decode-reps R] [--smol-reps R] [--md FILE]", TargetsBench.Run),
        ["startup"] = ("short `lethe` commands (engine, generate, eval) timed whole in fresh processes, with the runtime settings the CLI is built with (Directory.Build.props) against the .NET runtime's defaults, alternated: startup [--reps R] [--model DIR (the decoding children's model, default models/lethe-demo)]", StartupBench.Run),
        ["sampler"] = ("µs to pick a token (greedy, temperature, top-p) at vocabularies of 4 K to 128 K tokens, peaked and flat logits, beside the earlier sampler (which sorted the whole vocabulary every token), same run: sampler [--reps R]", SamplerBench.Run),
        ["tokenizer"] = ("encode throughput vs @huggingface/tokenizers (node): tokenizer [--seconds S] [--mb M]", a => { TokenizerBench.Run(a); return 0; }),
    };

    public static int Main(string[] args)
    {
        if (args.Length == 0 || !Suites.TryGetValue(args[0], out var suite))
        {
            Console.Error.WriteLine("usage: Lethe.Bench <suite> [options]\nsuites:");
            foreach (var (name, (help, _)) in Suites) Console.Error.WriteLine($"  {name,-10} {help}");
            return args.Length == 0 ? 0 : 2;
        }
        // A suite's options are read as it runs, and an option it does not know is not an error, so
        // `--help` has to be caught here: otherwise it starts the suite (minutes, for `targets`).
        if (args[1..].Any(a => a is "--help" or "-h"))
        {
            Console.WriteLine($"{args[0]}: {suite.Help}");
            return 0;
        }
        try { return suite.Run(args[1..]); }
        catch (LetheException e) { Console.Error.WriteLine($"error: {e.Message}"); return 1; }
    }
}
