// --dtype q8_0 on the shipped model (models/lethe-demo, stored f32): every Linear weight gets a
// Q8_0 copy, and the logits stay close to the f32 model's. Stated tolerance, on 3 sentences (41
// positions): the largest logit difference below 4 % of the f32 logits' range at that position,
// the mean absolute difference below 0.5 % of it, and the f32 model's top token still on top at
// ≥ 95 % of the positions. Measured (AVX2 path): with int8 activations (2026-12-03) 1.9 %, 0.15 %,
// 100 %; with int16 activations (2026-12-04) 0.95 %, 0.082 %, 97.6 % (one position of 41 changes its
// top token). The test prints its figures. A model without its Q8_0 copies would give identical
// logits (and fail the "weights were quantized" checks); a broken kernel gives differences of the
// logits' own size.
// Quantizing a memory-mapped model hands the pages it read back to the OS (madvise): the mapping's
// resident size (/proc/self/smaps, that mapping alone, so other tests' memory does not disturb it)
// falls, and the weights still read the same values afterwards.
using System.Globalization;
using Lethe.Experiments;
using Lethe.Tensors;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tests.Models;
using Lethe.Tokenizers;
using Xunit;
using Xunit.Abstractions;

namespace Lethe.Tests.Engine;

public class Q8ModelTests(ITestOutputHelper output)
{
    private static readonly string Dir = ShippedModel.Find();

    [Fact]
    public void Q8LogitsStayWithinToleranceOfF32OnTheShippedModel()
    {
        using var f32 = ModelLoader.Load(Dir);
        using var q8 = ModelLoader.Load(Dir);
        int quantized = q8.QuantizeLinearWeightsQ8(keepOthers: false);
        var c = q8.Config;
        Assert.Equal(7 * c.NumLayers + 1, quantized);  // q, k, v, o, gate, up, down per layer + the (tied) head
        var tokenizer = Tokenizer.Load(Dir);
        int positions = 0, agree = 0;
        double worstMax = 0, sumMean = 0;
        foreach (var text in new[] { "Question: what is 3 + 4? Answer: 7", "The river flows past the old mill and into the sea.", "def add(a, b):\n    return a + b" })
        {
            var ids = tokenizer.Encode(text, addSpecialTokens: true);
            using var a = f32.Forward(ids, 1);
            using var b = q8.Forward(ids, 1);
            var x = a.AsReadOnlySpan(); var y = b.AsReadOnlySpan();
            int V = c.VocabSize;
            for (int t = 0; t < ids.Length; t++)
            {
                var xr = x.Slice(t * V, V); var yr = y.Slice(t * V, V);
                float min = float.MaxValue, max = float.MinValue; int argX = 0, argY = 0;
                double maxDiff = 0, sumDiff = 0;
                for (int v = 0; v < V; v++)
                {
                    min = Math.Min(min, xr[v]); max = Math.Max(max, xr[v]);
                    if (xr[v] > xr[argX]) argX = v;
                    if (yr[v] > yr[argY]) argY = v;
                    double d = Math.Abs(xr[v] - yr[v]);
                    maxDiff = Math.Max(maxDiff, d); sumDiff += d;
                }
                double range = max - min;
                worstMax = Math.Max(worstMax, maxDiff / range);
                sumMean += sumDiff / V / range;
                positions++;
                if (argX == argY) agree++;
            }
        }
        double meanRel = sumMean / positions, agreement = (double)agree / positions;
        string report = $"over {positions} positions: worst max|Δlogit|/range {worstMax:F4}, mean |Δlogit|/range {meanRel:F5}, top-1 agreement {agreement:P1}";
        output.WriteLine(report);
        Assert.True(worstMax > 0, "q8_0 logits are identical to f32: the quantized weights were not used");
        Assert.True(worstMax < 0.04, report);
        Assert.True(meanRel < 0.005, report);
        Assert.True(agreement >= 0.95, report);
    }

    /// <summary>
    /// The shipped model fits in half of a 16 MB L3 (its int8 weights, 7.4 MB): quantized as on such
    /// a CPU, every matrix keeps its scales in fp32 too, and with a 1 MB L3 none does; the logits are
    /// the same bits either way, and the memory report counts the fp32 copies.
    /// </summary>
    [Fact]
    public void ScalesAreKeptInFp32WhereTheModelFitsInTheCacheWithTheSameLogits()
    {
        using var cached = ModelLoader.Load(Dir);
        using var streamed = ModelLoader.Load(Dir);
        cached.QuantizeLinearWeightsQ8(keepOthers: false, new CacheSizes(32 << 10, 1 << 20, 16 << 20));
        streamed.QuantizeLinearWeightsQ8(keepOthers: false, new CacheSizes(32 << 10, 512 << 10, 1 << 20));
        Assert.All(cached.LinearWeights(), w => Assert.True(w.W.Quantized!.ScalesWidened, w.Name));
        Assert.All(streamed.LinearWeights(), w => Assert.False(w.W.Quantized!.ScalesWidened, w.Name));
        Assert.True(cached.MeasureWeightMemory().Int8 > streamed.MeasureWeightMemory().Int8);
        var ids = Tokenizer.Load(Dir).Encode("Question: what is 3 + 4? Answer: 7", addSpecialTokens: true);
        var x = ForwardLogits.Decoding(cached, ids, steps: 6);
        var y = ForwardLogits.Decoding(streamed, ids, steps: 6);
        for (int s = 0; s < x.Count; s++) Assert.True(x[s].SequenceEqual(y[s]), $"step {s}: other logits with the scales kept in fp32");
    }

    [Fact]
    public void KvRowsCountAsCachedOnlyWhereTheWeightsAStepReadsAndTheCacheFitInTheL3()
    {
        using var model = ModelLoader.Load(Dir);
        long dense = model.DecodingWeightBytes;
        // Scales not kept widened (an L3 of 1 MB), so the int8 copies hold 34 bytes per 32 weights.
        model.QuantizeLinearWeightsQ8(keepOthers: false, new CacheSizes(32 << 10, 512 << 10, 1 << 20));
        long int8 = model.DecodingWeightBytes;
        output.WriteLine($"weights a decoding step reads: {dense} bytes stored (f32), {int8} as q8_0");
        Assert.InRange(int8, dense / 4 * 34 / 32, dense / 4 * 35 / 32);   // every Linear weight now read as its int8 copy (and its groups' padding)
        using var cache = new KvCache(model.Config, 1, 64);
        int threads = Math.Max(1, Lethe.Tensors.Engine.Threads);
        long perCore = (int8 + cache.Bytes + threads - 1) / threads;   // the smallest L3 per core that holds both
        Assert.True(model.KvRowsStayCached(cache, new CacheSizes(32 << 10, 1 << 20, perCore)));
        Assert.False(model.KvRowsStayCached(cache, new CacheSizes(32 << 10, 1 << 20, perCore - 1)));
        // Each forward pass with the cache sets its hint from the CPU's own caches.
        bool expected = model.KvRowsStayCached(cache, CpuInfo.Caches);
        cache.RowsStayCached = !expected;
        model.Forward(new[] { 5, 6, 7 }, 1, new ForwardOptions { Cache = cache });
        Assert.Equal(expected, cache.RowsStayCached);
    }

    [Fact]
    public unsafe void QuantizingAMappedModelReleasesThePagesItReadAndLosesNothing()
    {
        if (!File.Exists("/proc/self/smaps")) return; // Linux only: the resident size is read from there
        using var model = ModelLoader.Load(Dir);
        var weights = model.Weights.Values.Distinct().Where(w => w.Rank == 2 && w.Storage is MappedStorage).ToList();
        Assert.NotEmpty(weights);
        var first = weights[0];
        nint address = (nint)first.Storage.Pointer;
        var before = weights.ToDictionary(w => w, w => w.ToArray());   // reads (so maps) every page
        long residentBefore = MappingRssKb(address), fileKb = new FileInfo(Path.Combine(Dir, "model.safetensors")).Length / 1024;
        Assert.True(residentBefore > fileKb / 2, $"reading every weight left only {residentBefore} kB of the {fileKb} kB file resident");
        model.QuantizeLinearWeightsQ8(keepOthers: false);
        long residentAfter = MappingRssKb(address);
        output.WriteLine($"mapping of {fileKb} kB: {residentBefore} kB resident after reading the weights, {residentAfter} kB after quantizing");
        Assert.True(residentAfter < residentBefore / 4, $"quantizing left {residentAfter} of {residentBefore} kB resident");
        foreach (var w in weights) Assert.Equal(before[w], w.ToArray());   // file-backed: read again, unchanged
    }

    /// <summary>The resident kB of the mapping (a line of /proc/self/smaps) that contains address.</summary>
    private static long MappingRssKb(nint address)
    {
        bool inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-'), space = line.IndexOf(' ');
            if (dash > 0 && space > dash && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, null, out ulong lo)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, null, out ulong hi))
            {
                inside = (ulong)address >= lo && (ulong)address < hi;
                continue;
            }
            if (inside && line.StartsWith("Rss:"))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException($"no mapping contains 0x{address:x} in /proc/self/smaps");
    }
}
