// The shipped model loaded once in each dtype its decoding runs in (f32, bf16, and int8 weights),
// for tests that compare a decoding path across all three.
using Lethe.Experiments;
using Lethe.Models;
using Lethe.Tensors;

namespace Lethe.Tests.Models;

internal sealed class ShippedModelInDtypes : IDisposable
{
    private readonly TransformerModel f32, bf16, q8;

    public ShippedModelInDtypes()
    {
        string dir = ShippedModel.Find();
        f32 = ModelLoader.Load(dir);
        bf16 = ModelLoader.Load(dir, DType.BF16);
        q8 = ModelLoader.Load(dir);
        q8.QuantizeLinearWeightsQ8(keepOthers: false);
    }

    /// <summary>Each model with its dtype's name: f32, bf16, q8_0.</summary>
    public (TransformerModel Model, string Name)[] All => new[] { (f32, "f32"), (bf16, "bf16"), (q8, "q8_0") };

    public void Dispose()
    {
        f32.Dispose(); bf16.Dispose(); q8.Dispose();
    }
}
