// Issue 12 item 6: RMU's step memory stays within UnlearnRunner.EstimateMemory (weights + the trained
// tensors' copies, gradients and two Adam moments + activations up to block ℓ). Counted in tensor
// bytes, not RSS, so the check is deterministic: the weights, 4 f32 per trained element, the step
// arena's high-water mark (activations and backward temporaries) and the scratch arenas of the
// frozen no-grad passes. The model is the bench's SmolLM-135M shape narrowed (d 576 → 144, d_ff
// 1536 → 384, 9 heads, 8 blocks, ℓ = 7) with the bench's 4 × 512 tokens, so activations dominate as
// there. Also: back-propagating RMU's loss part by part (UnlearnStep) gives the whole loss's gradients.
using System.Text.Json.Nodes;
using Lethe.Models;
using Lethe.Models.Training;
using Lethe.Tensors;
using Lethe.Tensors.Autograd;
using Lethe.Tensors.Optim;
using Lethe.Tests.Engine;
using Lethe.Unlearning.Training;
using Xunit;
using Xunit.Abstractions;

namespace Lethe.Tests.Unlearning.Training;

public class RmuMemoryTests(ITestOutputHelper output) : IDisposable
{
    private const int Batch = 4, SeqLen = 512, Layer = 7;
    private readonly string dir = Path.Combine(Path.GetTempPath(), "lethe-rmumem-" + Guid.NewGuid().ToString("N"));

    public void Dispose() { if (Directory.Exists(dir)) Directory.Delete(dir, true); }

    private TransformerModel NarrowSmolLm()
    {
        Directory.CreateDirectory(dir);
        var config = new JsonObject
        {
            ["model_type"] = "llama", ["architectures"] = new JsonArray("LlamaForCausalLM"), ["hidden_size"] = 144,
            ["intermediate_size"] = 384, ["num_hidden_layers"] = 8, ["num_attention_heads"] = 9, ["num_key_value_heads"] = 3,
            ["vocab_size"] = 512, ["max_position_embeddings"] = 1024, ["rms_norm_eps"] = 1e-5, ["rope_theta"] = 10000.0,
            ["tie_word_embeddings"] = true, ["hidden_act"] = "silu", ["torch_dtype"] = "float32",
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        ModelInit.WriteRandomWeights(dir, seed: 3);
        return ModelLoader.Load(dir);
    }

    private static IUnlearningObjective Begin(string methodName, TrainedModel pair, MethodSettings settings)
    {
        var rng = new Rng(5);
        var tokens = Enumerable.Range(0, 4 * Batch * SeqLen).Select(_ => rng.NextInt(pair.Trained.Config.VocabSize)).ToArray();
        return ((ITrainingMethod)MethodRegistry.Get(methodName)).Begin(new UnlearnContext
        {
            Trained = pair.Trained, Reference = pair.Reference, Settings = settings, Seed = 1,
            Forget = new[] { new TokenStreamSource(tokens, Batch, SeqLen) }, Retain = new TokenStreamSource(tokens.Reverse().ToArray(), Batch, SeqLen),
        });
    }

    private static MethodSettings Settings(string method) => MethodSettings.Resolve(MethodRegistry.Get(method), null,
        new Dictionary<string, string> { ["layer"] = Layer.ToString(), ["batch_size"] = Batch.ToString(), ["max_tokens"] = SeqLen.ToString() });

    [Fact]
    public void RmuStepPeakStaysWithinTheMemoryEstimate()
    {
        using var reference = NarrowSmolLm();
        var method = (ITrainingMethod)MethodRegistry.Get("rmu");
        var settings = Settings("rmu");
        var names = method.DefaultTrainable(reference.Config, settings);
        using var pair = new TrainedModel(reference, names);
        var objective = Begin("rmu", pair, settings);
        var optimizer = new AdamW(pair.Parameters, new AdamWOptions { LearningRate = 1e-3f });
        using var arena = new TensorArena();
        for (int step = 0; step < 2; step++) // the second step runs with the optimizer's moments allocated
        {
            Grad.Zero(pair.Parameters);
            UnlearnStep.Gradients(objective, step, arena);
            optimizer.Step();
        }

        long weights = reference.Weights.Values.Sum(t => t.Length * t.DType.SizeOf());
        long trainedState = pair.Parameters.Sum(p => p.Length) * 4L * 4; // copy, gradient, two Adam moments
        long activations = arena.PeakBytesInUse + TransformerModel.ScratchBytesReserved;
        long estimate = UnlearnRunner.EstimateMemory(reference, names, Batch, SeqLen, Layer);
        long estimatedActivations = estimate - weights - trainedState;
        output.WriteLine($"arena peak {arena.PeakBytesInUse / 1e6:F1} MB + scratch {TransformerModel.ScratchBytesReserved / 1e6:F1} MB " +
            $"vs estimated activations {estimatedActivations / 1e6:F1} MB; total {(weights + trainedState + activations) / 1e6:F1} MB vs estimate {estimate / 1e6:F1} MB");
        Assert.All(pair.Parameters, p => Assert.NotNull(p.Grad));
        Assert.True(weights + trainedState + activations <= estimate,
            $"RMU's step needs {(weights + trainedState + activations) / 1e6:F1} MB (activations {activations / 1e6:F1} MB), over UnlearnRunner's estimate {estimate / 1e6:F1} MB (activations {estimatedActivations / 1e6:F1} MB)");
    }

    [Theory]
    [InlineData("rmu")]
    [InlineData("adaptive-rmu")]
    public void BackwardByPartsGivesTheWholeLossGradients(string methodName)
    {
        using var reference = NarrowSmolLm();
        var method = (ITrainingMethod)MethodRegistry.Get(methodName);
        var settings = Settings(methodName);
        var names = method.DefaultTrainable(reference.Config, settings);

        // Whole: one tape, the loss as one tensor (every pass's activations alive at once).
        using var whole = new TrainedModel(reference, names);
        IUnlearningObjective objective = Begin(methodName, whole, settings);
        LossTerms loss;
        using var wholeArena = new TensorArena();
        using (wholeArena.Activate())
        using (var tape = Tape.Begin())
        {
            loss = objective.Loss(0);
            tape.Backward(loss.Total);
        }
        float total = loss.Total.AsReadOnlySpan()[0];

        // By parts: the runner's step.
        using var parted = new TrainedModel(reference, names);
        using var arena = new TensorArena();
        var terms = UnlearnStep.Gradients(Begin(methodName, parted, settings), 0, arena);

        output.WriteLine($"{methodName}: arena peak {arena.PeakBytesInUse / 1e6:F1} MB by parts, {wholeArena.PeakBytesInUse / 1e6:F1} MB for the whole loss");
        Assert.InRange(terms["loss"], total - 1e-5 * Math.Abs(total), total + 1e-5 * Math.Abs(total));
        foreach (var key in loss.Terms.Keys) Assert.Equal(loss.Terms[key], terms[key]);
        foreach (var (a, b) in whole.Parameters.Zip(parted.Parameters))
        {
            var (x, y) = (a.Grad!.ToArray(), b.Grad!.ToArray());
            output.WriteLine($"{methodName}: {Enumerable.Range(0, x.Length).Count(i => BitConverter.SingleToInt32Bits(x[i]) != BitConverter.SingleToInt32Bits(y[i]))} of {x.Length} gradient elements differ in bits");
            GradCheck.Close(x, y, 1e-6, $"{methodName}: gradient by parts vs whole");
        }
        Assert.True(arena.PeakBytesInUse < wholeArena.PeakBytesInUse * 0.7,
            $"by parts the step's arena peaked at {arena.PeakBytesInUse / 1e6:F1} MB, the whole loss's at {wholeArena.PeakBytesInUse / 1e6:F1} MB: the first part's activations were not reclaimed");
    }
}
