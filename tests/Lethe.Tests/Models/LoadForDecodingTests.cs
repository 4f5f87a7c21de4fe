// ModelLoader.LoadForDecoding (generate, eval, serve): the weights that Load uses in place from the
// mapped file are copies in memory of the process's own (on 2 MB pages where Linux gives them),
// with the same values, so every logit of a prompt and of greedy decoding steps is Load's, bit for
// bit, on the shipped model (f32 as stored, and converted to bf16) and on a GPT-2 fixture (its
// fused, transposed weights go through the compute layout).
using Lethe.Experiments;
using Lethe.Models;
using Lethe.Tensors;
using Xunit;

namespace Lethe.Tests.Models;

public class LoadForDecodingTests
{
    [Theory]
    [InlineData(null, null)]
    [InlineData(null, DType.BF16)]
    [InlineData("gpt2", null)]
    public void WeightsAreCopiesWithLoadsValuesAndLogits(string? fixture, DType? dtype)
    {
        string path = fixture is null ? ShippedModel.Find() : Path.Combine(AppContext.BaseDirectory, "fixtures", "models", fixture);
        using var inPlace = ModelLoader.Load(path, dtype);
        using var copied = ModelLoader.LoadForDecoding(path, dtype);
        if (dtype is null) Assert.Contains(inPlace.Weights.Values, w => w.Storage is MappedStorage);
        if (LargePages.Enabled) Assert.DoesNotContain(copied.Weights.Values, w => w.Storage is MappedStorage);
        foreach (var (name, w) in inPlace.Weights)
        {
            Assert.Equal(w.DType, copied.Weights[name].DType);
            Assert.True(w.ToArray().SequenceEqual(copied.Weights[name].ToArray()), $"{name} differs");
        }
        int[] prompt = { 1, 5, 9, 2, 7, 3 };
        var expected = ForwardLogits.Decoding(inPlace, prompt, 4);
        var actual = ForwardLogits.Decoding(copied, prompt, 4);
        for (int s = 0; s < expected.Count; s++) Assert.True(expected[s].SequenceEqual(actual[s]), $"step {s}: logits differ");
    }
}
