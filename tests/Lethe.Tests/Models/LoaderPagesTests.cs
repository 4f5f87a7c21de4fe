// Loading a safetensors folder reads every weight once to check that it is finite. The file pages
// that check (and a copy to another dtype or layout) brings in must not stay in the process's memory
// when the model holds copies (--dtype bf16 of an f32 file) or int8 blocks (--dtype q8_0): until
// 2026-12-06 they did, and a GPT-2 f32 folder of 356 MB peaked at 772 MB under bf16. Measured here
// from /proc/self/smaps: the resident bytes of the file's mapping after the load.
using System.Text.Json.Nodes;
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Tests.IO;
using Xunit;

namespace Lethe.Tests.Models;

public class LoaderPagesTests
{
    /// <summary>Bytes of the file's mappings resident in this process (Rss of its /proc/self/smaps entries).</summary>
    private static long ResidentBytesOf(string path)
    {
        string full = Path.GetFullPath(path);
        long kb = 0;
        bool inFile = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (line.Length > 0 && char.IsAsciiHexDigit(line[0]) && line.Contains('-') && line.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: >= 5 } f)
                inFile = f.Length >= 6 && string.Join(' ', f[5..]) == full;
            else if (inFile && line.StartsWith("Rss:"))
                kb += long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        return kb * 1024;
    }

    private static string WriteModel(TempFolder dir, string configJson)
    {
        var config = JsonNode.Parse(configJson)!.AsObject();
        config["torch_dtype"] = "float32";
        File.WriteAllText(dir.File("config.json"), config.ToJsonString());
        ModelInit.WriteRandomWeights(dir.Path, seed: 3, std: 0.2f);
        return dir.File("model.safetensors");
    }

    private const string Llama = """{"model_type":"llama","architectures":["LlamaForCausalLM"],"hidden_size":256,"intermediate_size":704,"num_attention_heads":4,"num_key_value_heads":2,"num_hidden_layers":4,"max_position_embeddings":64,"vocab_size":512,"rms_norm_eps":1e-5,"rope_theta":10000.0,"hidden_act":"silu","tie_word_embeddings":true}""";
    private const string Gpt2 = """{"model_type":"gpt2","architectures":["GPT2LMHeadModel"],"n_embd":256,"n_head":4,"n_layer":4,"n_positions":64,"vocab_size":512,"layer_norm_epsilon":1e-5,"activation_function":"gelu_new","tie_word_embeddings":true}""";

    [Theory]
    [InlineData(Llama)]
    [InlineData(Gpt2)]
    public void BeforeQuantizingTheMatricesToQuantizeAreNotAllResident(string configJson)
    {
        // LoadQ8's first step, the load that holds matrices for quantizing: their pages, read by the
        // finiteness check, must have gone back before the quantizing reads them one at a time (which
        // then releases each), or the whole file counts in the peak.
        if (!File.Exists("/proc/self/smaps")) return;
        using var dir = new TempFolder();
        string file = WriteModel(dir, configJson);
        using var m = ModelLoader.Load(dir.Path, null, writable: false, int8: true);
        long resident = ResidentBytesOf(file), fileBytes = new FileInfo(file).Length;
        Assert.True(resident < fileBytes / 5, $"{resident} of the file's {fileBytes} bytes are resident before quantizing");
    }

    [Theory]
    [InlineData(Llama, "bf16")]
    [InlineData(Llama, "q8_0")]
    [InlineData(Gpt2, "bf16")]
    [InlineData(Gpt2, "f32")]   // GPT-2's Conv1D matrices are transposed copies even in the file's dtype
    [InlineData(Gpt2, "q8_0")]
    public void FilePagesOfCopiedOrQuantizedWeightsDoNotStayResident(string configJson, string dtype)
    {
        if (!File.Exists("/proc/self/smaps")) return; // Linux only: nothing to measure elsewhere
        using var dir = new TempFolder();
        string file = WriteModel(dir, configJson);
        long fileBytes = new FileInfo(file).Length;
        using var m = dtype == "q8_0" ? ModelLoader.LoadQ8(dir.Path, keepOthersInBf16: false) : ModelLoader.Load(dir.Path, dtype == "bf16" ? DType.BF16 : DType.F32);
        // What may stay: the weights used in place (embeddings, norms, biases; GPT-2's position table):
        // for these shapes under a fifth of the file. Every page of it was resident before the change.
        long resident = ResidentBytesOf(file);
        Assert.True(resident < fileBytes / 5, $"{dtype}: {resident} of the file's {fileBytes} bytes stay resident after the load");
        // The model still reads its weights (the released pages come back from the page cache).
        Assert.True(ForwardLogits.Of(m, new[] { 1, 2, 3 }).All(float.IsFinite));
    }

    [Fact]
    public void AModelUsedInPlaceKeepsItsPages()
    {
        // The control: an f32 Llama folder loaded as f32 is used in place, so the pages the check
        // read are the ones inference reads; they stay (releasing them would only fault them back).
        if (!File.Exists("/proc/self/smaps")) return;
        using var dir = new TempFolder();
        string file = WriteModel(dir, Llama);
        using var m = ModelLoader.Load(dir.Path);
        Assert.True(ResidentBytesOf(file) > new FileInfo(file).Length * 9 / 10, "the checked pages of a model used in place should stay resident");
    }
}
