// A KV cache held in bf16 or f16 (TransformerModel.KvCacheStorage, `--kv-cache`): each stored key and
// value is rounded once, and attention over the cache then gives exactly what an fp32 cache holding
// the rounded values gives, bit for bit: for a prompt (attended over a widened copy) and for every
// decoding step (the kernel reads bf16 rows, and on AMD CPUs f16 ones, in place on 512 bits,
// widening each vector as loaded, and widens each block of rows first otherwise), on SmolLM's head layout (9 query heads on 3
// KV heads of 64, past one key chunk of 512) and on the shipped model's (2 per KV head of 32, which
// the kernel takes two heads at a time). f16 saturates instead of overflowing.
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tensors;
using Xunit;

namespace Lethe.Tests.Models;

public unsafe class KvCacheStorageTests
{
    private static ModelConfig Config(int heads, int kvHeads, int headDim) => new()
    {
        ModelType = "llama", SourcePath = "test", HiddenSize = heads * headDim, IntermediateSize = 4 * heads * headDim,
        NumLayers = 2, NumHeads = heads, NumKvHeads = kvHeads, HeadDim = headDim, VocabSize = 32,
    };

    private static float Round(float x, DType storage) => storage == DType.BF16
        ? DTypes.BF16ToF32(DTypes.F32ToBF16(x))
        : DTypes.F16ToF32(DTypes.F32ToF16(Math.Clamp(x, -65504f, 65504f)));

    [Theory]
    [InlineData(DType.BF16, 9, 3, 64, 2, 600)]
    [InlineData(DType.F16, 9, 3, 64, 1, 130)]
    [InlineData(DType.BF16, 8, 4, 32, 2, 90)]
    [InlineData(DType.F16, 8, 4, 32, 1, 70)]
    [InlineData(DType.BF16, 4, 2, 20, 2, 40)]   // a head size that is no multiple of 16
    [InlineData(DType.BF16, 4, 4, 48, 1, 75)]   // one query row per KV head; 48 = 32 + a last 16
    [InlineData(DType.BF16, 6, 2, 80, 1, 45)]   // three rows per KV head over 80 = 64 + 16
    [InlineData(DType.BF16, 6, 3, 64, 2, 60)]   // two rows per KV head, one head a task
    [InlineData(DType.BF16, 8, 4, 128, 1, 50)]  // two KV heads' pairs over 128
    public void AttentionOverARoundedCacheIsAttentionOverTheRoundedValues(DType storage, int Hq, int Hkv, int Dh, int B, int prompt)
    {
        var config = Config(Hq, Hkv, Dh);
        const int steps = 5;
        int capacity = prompt + steps;
        using var half = new KvCache(config, B, capacity, storage);
        using var reference = new KvCache(config, B, capacity);
        Assert.Equal(storage, half.Storage);
        Assert.Equal(reference.Bytes / 2, half.Bytes);
        var rng = new Random(Hq * 1000 + Dh + prompt);
        var options = AttentionOptions.ForHeadDim(Dh) with { KeyStart = Enumerable.Range(0, B).Select(b => b * 3).ToArray() };
        for (int T = prompt, step = 0; step <= steps; T = 1, step++)
        {
            for (int layer = 0; layer < config.NumLayers; layer++)
            {
                var q = Values(rng, B * T * Hq * Dh, 3f);
                var k = Values(rng, B * T * Hkv * Dh, step == 2 ? 9e4f : 3f);   // step 2: beyond f16's range
                var v = Values(rng, B * T * Hkv * Dh, 3f);
                var kRounded = k.Select(x => Round(x, storage)).ToArray();
                var vRounded = v.Select(x => Round(x, storage)).ToArray();
                var fromHalf = new float[q.Length];
                var fromRounded = new float[q.Length];
                fixed (float* pq = q, pk = k, pv = v, pkr = kRounded, pvr = vRounded, o1 = fromHalf, o2 = fromRounded)
                {
                    half.Attend(layer, pq, pk, pv, B, T, Hq, o1, options);
                    reference.Attend(layer, pq, pkr, pvr, B, T, Hq, o2, options);
                }
                Assert.True(fromHalf.All(float.IsFinite), $"step {step}: a value is not finite");
                Assert.True(fromRounded.SequenceEqual(fromHalf), $"{storage}, step {step} (T = {T}), layer {layer}: attention over the {storage} cache differs from attention over the rounded values");
            }
            half.Length += T; reference.Length += T;
        }
    }

    private static float[] Values(Random rng, int n, float scale) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();

    [Fact]
    public void RowsMovedByKeepShiftAndAppendKeepTheirValues()
    {
        var config = Config(4, 2, 32);
        using var cache = new KvCache(config, 3, 12, DType.BF16);
        using var fresh = new KvCache(config, 1, 4);   // an fp32 prefill cache, rounded as it joins
        var rng = new Random(5);
        float[] k = Values(rng, 3 * 4 * 2 * 32, 2f), v = Values(rng, k.Length, 2f);
        var q = Values(rng, 3 * 4 * 4 * 32, 1f);
        var output = new float[q.Length];
        fixed (float* pq = q, pk = k, pv = v, po = output)
        {
            cache.Attend(0, pq, pk, pv, 3, 4, 4, po, AttentionOptions.ForHeadDim(32));
            cache.Length = 4;
            var before = Snapshot(cache, 0, 2, 4);
            cache.Keep(new[] { 2 });   // row 2 moves to the front
            Assert.Equal(before, Snapshot(cache, 0, 0, 4));
            cache.Shift(3);
            Assert.Equal(before, Snapshot(cache, 0, 0, 4, from: 3));
            fresh.Attend(0, pq, pk, pv, 1, 4, 4, po, AttentionOptions.ForHeadDim(32));
            fresh.Length = 4;
            var rounded = Snapshot(fresh, 0, 0, 4).Select(x => Round(x, DType.BF16)).ToArray();
            cache.Append(fresh, 3);
            Assert.Equal(rounded, Snapshot(cache, 0, 1, 4, from: 3));
        }
    }

    private static float[] Snapshot(KvCache cache, int layer, int b, int n, int from = 0) => cache.RowValues(layer, b, from, n);
}
