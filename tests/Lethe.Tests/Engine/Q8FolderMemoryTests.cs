// --dtype q8_0 on a safetensors folder whose matrices a load would copy (GPT-2's Conv1D weights
// transposed, GPT-NeoX's q/k/v regrouped, any matrix converted to bf16 by --q8-fallback bf16):
// those are held as int8 alone over the mapped checkpoint (DequantizedStorage), and the int8 blocks,
// the logits and (when read) the dense values are those of the earlier way, which made the copies
// and quantized them.
using System.Text.Json.Nodes;
using Lethe.Models;
using Lethe.Tests.IO;
using Lethe.Tensors;
using Lethe.Tests.Models;
using Xunit;

namespace Lethe.Tests.Engine;

public class Q8FolderMemoryTests
{
    public static TheoryData<string, bool> Models => new()
    {
        { """{"model_type":"gpt2","architectures":["GPT2LMHeadModel"],"n_embd":64,"n_head":4,"n_layer":2,"n_positions":64,"vocab_size":101,"layer_norm_epsilon":1e-5,"activation_function":"gelu_new","tie_word_embeddings":true}""", false },
        { """{"model_type":"gpt_neox","architectures":["GPTNeoXForCausalLM"],"hidden_size":64,"intermediate_size":128,"num_attention_heads":2,"num_hidden_layers":2,"max_position_embeddings":64,"vocab_size":101,"layer_norm_eps":1e-5,"rotary_pct":0.25,"rotary_emb_base":10000,"use_parallel_residual":true,"hidden_act":"gelu","attention_bias":true,"tie_word_embeddings":false}""", false },
        // intermediate 80: down_proj's rows (80 values) cannot be Q8_0, so --q8-fallback bf16 keeps it in bf16
        { """{"model_type":"llama","architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":80,"num_attention_heads":4,"num_key_value_heads":2,"num_hidden_layers":2,"max_position_embeddings":64,"vocab_size":101,"rms_norm_eps":1e-5,"rope_theta":10000.0,"hidden_act":"silu","tie_word_embeddings":true}""", true },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void CopiedMatricesAreHeldAsInt8AloneWithTheEarlierBlocksAndLogits(string configJson, bool fallback)
    {
        using var dir = new TempFolder();
        var config = JsonNode.Parse(configJson)!.AsObject();
        config["torch_dtype"] = "float32";
        File.WriteAllText(dir.File("config.json"), config.ToJsonString());
        ModelInit.WriteRandomWeights(dir.Path, seed: 11, std: 0.2f);

        using var late = ModelLoader.LoadQ8(dir.Path, keepOthersInBf16: fallback);
        using var earlier = ModelLoader.Load(dir.Path, fallback ? DType.BF16 : null);
        earlier.QuantizeLinearWeightsQ8(keepOthers: fallback);

        var lateWeights = late.LinearWeights();
        var earlierWeights = earlier.LinearWeights();
        Assert.Equal(earlierWeights.Count, lateWeights.Count);
        for (int i = 0; i < lateWeights.Count; i++)
        {
            var (a, b) = (earlierWeights[i].W.Quantized, lateWeights[i].W.Quantized);
            Assert.Equal(a is null, b is null);
            if (a is not null) Assert.True(a.ToGgmlBlocks().AsSpan().SequenceEqual(b!.ToGgmlBlocks()), $"{lateWeights[i].Name}: the int8 blocks differ");
        }
        var held = late.Weights.Where(kv => kv.Value.Storage is DequantizedStorage).Select(kv => (kv.Key, Storage: (DequantizedStorage)kv.Value.Storage)).ToList();
        Assert.NotEmpty(held);
        if (fallback) Assert.IsNotType<DequantizedStorage>(late.Weights["model.layers.0.mlp.down_proj.weight"].Storage);

        int[] ids = [3, 17, 42, 8, 99, 5, 60];
        Assert.Equal(ForwardLogits.Of(earlier, ids), ForwardLogits.Of(late, ids));
        Assert.All(held, h => Assert.False(h.Storage.IsMaterialized, $"{h.Key}: its dense values were made during int8 inference"));
        WeightMemory lateMemory = late.MeasureWeightMemory(), earlierMemory = earlier.MeasureWeightMemory();
        Assert.Equal(held.Sum(h => h.Storage.ByteLength), lateMemory.DenseNotMade);
        Assert.Equal(earlierMemory.Int8, lateMemory.Int8);
        Assert.Equal(lateMemory.DenseNotMade, earlierMemory.DenseInMemory - lateMemory.DenseInMemory); // the copies the earlier way made
        foreach (var (name, _) in held)
        {
            Assert.Equal(earlier.Weights[name].DType, late.Weights[name].DType);
            Assert.Equal(earlier.Weights[name].Shape.ToArray(), late.Weights[name].Shape.ToArray());
            Assert.True(earlier.Weights[name].ToArray().AsSpan().SequenceEqual(late.Weights[name].ToArray()), $"{name}: the values made on reading differ from the earlier copy's");
        }
    }
}
