// The contract of an inference-time unlearning method (KSD, Neuron Adjust, Selective Pruning): like
// every method it declares its parameters (IUnlearningMethod; resolved by MethodSettings) and is
// listed in MethodRegistry; it fits an adapter from forget/retain probe sets, writes and reads its
// own tensors and metadata keys of the adapter file, and describes a fitted adapter in a few lines.
// What every such method shares lives beside it: the probe parameters (ProbeParameters), the probe
// encoding and streaming pass (AdapterFitter), the file's common part and provenance
// (UnlearningAdapter), the layer lists (LayerList). Adding one = a file in Methods/ + a line in
// MethodRegistry.All; the CLI verb, its flags, the summary and adapter loading follow.
using System.Globalization;
using Lethe.IO;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Tokenizers;
using Lethe.Unlearning.Training;

namespace Lethe.Unlearning;

public interface IAdapterMethod : IUnlearningMethod
{
    /// <summary>Whether this fit needs retain probes (KSD: only to calibrate α).</summary>
    bool NeedsRetain(MethodSettings settings);

    /// <summary>Whether this fit reads validation probe sets (AdapterFitContext.ForgetValidation, RetainValidation).</summary>
    bool NeedsValidation(MethodSettings settings) => false;

    /// <summary>Whether the adapter draws random numbers at inference (so evaluations are repeated over seeds).</summary>
    bool Random { get; }

    /// <summary>A short name for result tables ("KSD", "NA 0.5 %").</summary>
    string Label(MethodSettings settings);

    UnlearningAdapter Fit(AdapterFitContext context);

    /// <summary>Adds this method's metadata keys and tensors (prefixed by its own key, e.g. "ksd.") to an adapter file.</summary>
    void Write(IAdapterPayload payload, SafeTensorsWriter file);

    /// <summary>Reads what Write wrote; damaged values are refused naming the file.</summary>
    IAdapterPayload Read(AdapterFileReader file);

    /// <summary>Summary lines of a fitted adapter (after the common model and probe lines).</summary>
    IEnumerable<string> Describe(UnlearningAdapter adapter);
}

public static class AdapterMethodExtensions
{
    /// <summary>Fits and records the resolved settings in the adapter (the run record every method shares).</summary>
    public static UnlearningAdapter Run(this IAdapterMethod method, AdapterFitContext context)
    {
        var adapter = method.Fit(context);
        adapter.Settings = context.Settings.ToJson();
        return adapter;
    }
}

/// <summary>What a fitted inference-time method holds: the layers it acts on and its hooks for a model.</summary>
public interface IAdapterPayload
{
    IEnumerable<int> Layers { get; }
    /// <param name="seed">Replaces the fitted seed of a random method (null: the fitted one).</param>
    InferenceIntervention CreateIntervention(TransformerModel model, ulong? seed);
}

/// <summary>A method whose adapter can also be written into the model's weights as a Hugging Face folder.</summary>
public interface IWeightExport
{
    /// <summary>What the folder holds, for messages ("pruned model").</summary>
    string Exported { get; }

    void Export(UnlearningAdapter adapter, string modelFolder, string outDir);
}

/// <summary>What a fit sees: the model, its tokenizer, resolved settings and the probe sets.</summary>
public sealed class AdapterFitContext
{
    public required TransformerModel Model { get; init; }
    public required Tokenizer Tokenizer { get; init; }
    public required MethodSettings Settings { get; init; }
    public required IReadOnlyList<ProbeFile> Forget { get; init; }
    public IReadOnlyList<ProbeFile> Retain { get; init; } = Array.Empty<ProbeFile>();
    /// <summary>Probe sets kept out of the fit to choose among configurations (when NeedsValidation).</summary>
    public ProbeFile? ForgetValidation { get; init; }
    public IReadOnlyList<ProbeFile> RetainValidation { get; init; } = Array.Empty<ProbeFile>();
    public ulong Seed { get; init; }
    public IFitProgress? Progress { get; init; }
    public CancellationToken Cancel { get; init; }
    /// <summary>Probe statistics kept between fits on this model (null: collect every time).</summary>
    public ProbeStatisticsCache? StatisticsCache { get; init; }
}

/// <summary>The probe parameters every inference-time method has, and their reading into ProbeOptions.</summary>
public static class ProbeParameters
{
    /// <param name="probeText">The default part of each probe item: prompt (KSD must catch queries) or full (NA, SP model the skill exercised).</param>
    /// <param name="layers">The default layer list (LayerList syntax).</param>
    public static List<MethodParameter> For(string probeText, string layers) => new()
    {
        new("layers", layers, "layers: all, last, or a list like 0,3..5,-1 (negative counts from the end)") { IsText = true },
        new("batch_size", "8", "probe texts per forward pass") { Min = 1 },
        new("max_tokens", "512", "tokens kept of each probe text (its beginning)") { Min = 1 },
        new("probe_text", probeText, "full: whole items (question + answer…); prompt: only the query part", new[] { "full", "prompt" }),
    };

    public static ProbeTextPart Part(MethodSettings s) => s.Text("probe_text") == "prompt" ? ProbeTextPart.Prompt : ProbeTextPart.Full;

    /// <summary>The options record with the shared probe settings filled in.</summary>
    public static T Apply<T>(T options, MethodSettings s) where T : ProbeOptions =>
        options with { BatchSize = s.Integer("batch_size", 1), MaxTokens = s.Integer("max_tokens", 1), Part = Part(s) };

    /// <summary>The layers setting, parsed.</summary>
    public static IReadOnlyList<int> Layers(MethodSettings s, int numLayers) => LayerList.Parse(s.Text("layers"), numLayers);

    /// <summary>The layers setting, null for "all" (so a fit records "all" rather than the list).</summary>
    public static IReadOnlyList<int>? LayersOrAll(MethodSettings s, int numLayers) => s.Text("layers").Trim() == "all" ? null : Layers(s, numLayers);

    /// <summary>A number as settings write it (invariant, round-trip).</summary>
    public static string Format(double x) => x.ToString("R", CultureInfo.InvariantCulture);
}
