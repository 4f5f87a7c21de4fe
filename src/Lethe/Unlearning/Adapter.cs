// The result of training-free unlearning: an adapter file that `lethe generate`, `lethe eval` and
// the library apply at inference. It is one safetensors file — tensors plus "__metadata__" strings
// — readable by any safetensors reader:
//   __metadata__: format = "lethe.adapter", version = "1", method = ksd | neuron-adjust | prune,
//     hyperparameters (JSON), layers (JSON array), model (JSON, ModelIdentity), probes (JSON array:
//     role, path, sha256 of the file, schema, texts, tokens, truncated), report (JSON: fit figures),
//     settings (JSON, optional — absent in files written before it: method, preset, every parameter),
//     and per method: ksd.alpha, ksd.combine, ksd.refusal; na.map, na.seed, na.draw (per-element when absent).
//   tensors: ksd.layers I32 [n], ksd.kstar F64 [n], ksd.{layer}.mean / ksd.{layer}.std F64 [d_ff];
//     na.layer, na.index I32 [k], na.forget_mean, na.forget_std, na.retain_mean, na.retain_std F64 [k];
//     prune.layer, prune.index I32 [k], prune.score F64 [k].
// Statistics are stored in double so that a loaded detector decides exactly as the fitted one.
// The common part (format, version, method, hyperparameters, layers, model, probes, report) is
// written and read here; each method's own keys and tensors by its IAdapterMethod (Write/Read), found
// in MethodRegistry by the recorded method name — so a new method needs no change here.
// CreateIntervention refuses a model whose identity differs from the one recorded.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.IO;
using Lethe.Models;
using Lethe.Models.Generation;
using Lethe.Unlearning.Training;

namespace Lethe.Unlearning;

/// <summary>The method names adapter files record (each is its IAdapterMethod's Name).</summary>
public static class AdapterMethods
{
    public const string KeySpaceDetection = "ksd", NeuronAdjust = "neuron-adjust", SelectivePruning = "prune";
}

/// <summary>A probe file the adapter was fitted on (role: forget or retain).</summary>
public sealed record ProbeFileRecord(string Role, string Path, string Sha256, string Schema, int Texts, long Tokens, int Truncated);

public sealed class UnlearningAdapter
{
    public const string FormatName = "lethe.adapter";
    public const string FormatVersion = "1";

    /// <param name="method">The fitting method's registered name.</param>
    public UnlearningAdapter(string method, IAdapterPayload payload, ModelIdentity model, IReadOnlyList<ProbeFileRecord> probes, JsonObject hyperparameters, JsonObject report)
    {
        Method = method; Payload = payload; Model = model; Probes = probes; Hyperparameters = hyperparameters; Report = report;
    }

    public string Method { get; }
    /// <summary>What the method fitted (a KeySpaceDetector, NeuronAdjust, SelectivePruning, …).</summary>
    public IAdapterPayload Payload { get; }
    // Typed views of the payload, for code that reads one method's figures.
    public KeySpaceDetector? Detector => Payload as KeySpaceDetector;
    public NeuronAdjust? NeuronAdjust => Payload as NeuronAdjust;
    public SelectivePruning? Pruning => Payload as SelectivePruning;
    public ModelIdentity Model { get; }
    public IReadOnlyList<ProbeFileRecord> Probes { get; }
    public JsonObject Hyperparameters { get; }
    /// <summary>Figures of the fit (k*, calibration, coverage curve, selected neurons per layer…).</summary>
    public JsonObject Report { get; }
    /// <summary>The run record's settings part (method, preset, every parameter; MethodSettings.ToJson); null in files written before it was kept.</summary>
    public JsonObject? Settings { get; set; }
    /// <summary>Where the adapter was loaded from (null when built in memory).</summary>
    public string? SourcePath { get; private set; }

    /// <summary>Layers the adapter acts on, ascending.</summary>
    public IReadOnlyList<int> Layers => Payload.Layers.Distinct().OrderBy(l => l).ToArray();

    /// <summary>The adapter's hooks and abstention for this model; a model other than the one it was fitted on is an error.</summary>
    public InferenceIntervention CreateIntervention(TransformerModel model, ulong? seed = null)
    {
        Model.RequireSame(ModelIdentity.Of(model), SourcePath ?? "the adapter");
        return Payload.CreateIntervention(model, seed);
    }

    // ---- file format ----

    private static string Json(JsonNode node) => node.ToJsonString(new JsonSerializerOptions { WriteIndented = false });

    public void Save(string path)
    {
        var w = new SafeTensorsWriter();
        var meta = w.Metadata;
        meta["format"] = FormatName;
        meta["version"] = FormatVersion;
        meta["method"] = Method;
        meta["hyperparameters"] = Json(Hyperparameters.DeepClone());
        meta["layers"] = Json(new JsonArray(Layers.Select(l => (JsonNode)l).ToArray()));
        meta["model"] = Json(Model.ToJson());
        meta["probes"] = Json(new JsonArray(Probes.Select(p => (JsonNode)new JsonObject
        {
            ["role"] = p.Role, ["path"] = p.Path, ["sha256"] = p.Sha256, ["schema"] = p.Schema,
            ["texts"] = p.Texts, ["tokens"] = p.Tokens, ["truncated"] = p.Truncated,
        }).ToArray()));
        meta["report"] = Json(Report.DeepClone());
        if (Settings is not null) meta["settings"] = Json(Settings.DeepClone());
        MethodRegistry.Adapter(Method).Write(Payload, w);
        w.Save(path);
    }

    public static UnlearningAdapter Load(string path)
    {
        if (Directory.Exists(path)) throw new LetheException($"{path}: is a folder; an adapter is one .safetensors file written by fitting an inference-time method (KSD, Neuron Adjust, pruning)");
        if (!File.Exists(path)) throw new LetheException($"{path}: adapter file not found; fit one first (the CLI: `lethe unlearn ksd|neuron-adjust|prune MODEL ... --out FILE`)");
        using var f = SafeTensorsFile.Open(path);
        var file = new AdapterFileReader(path, f);
        if (!f.Metadata.TryGetValue("format", out var format) || format != FormatName)
            throw new LetheException($"{path}: not a Lethe unlearning adapter (its safetensors metadata has no format = {FormatName}); is this a model or another file?");
        if (file.Meta("version") != FormatVersion)
            throw new LetheException($"{path}: adapter format version {file.Meta("version")} is not supported by this Lethe (it reads version {FormatVersion}); refit the adapter");
        var model = ModelIdentity.FromJson(file.Json("model") as JsonObject ?? throw new LetheException($"{path}: metadata 'model' must be a JSON object"), path);
        List<ProbeFileRecord> probes;
        try
        {
            probes = (file.Json("probes") as JsonArray ?? throw new LetheException($"{path}: metadata 'probes' must be a JSON array"))
                .Select(p => new ProbeFileRecord((string)p!["role"]!, (string)p["path"]!, (string)p["sha256"]!, (string)p["schema"]!,
                    (int)p["texts"]!, (long)p["tokens"]!, (int)p["truncated"]!)).ToList();
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or InvalidCastException)
        {
            throw new LetheException($"{path}: metadata 'probes' is damaged ({e.Message}); refit the adapter");
        }
        var hyper = file.Json("hyperparameters") as JsonObject ?? new JsonObject();
        var report = file.Json("report") as JsonObject ?? new JsonObject();
        string method = file.Meta("method");
        var reader = MethodRegistry.Adapters.FirstOrDefault(m => m.Name == method)
            ?? throw new LetheException($"{path}: unknown adapter method '{method}'; this Lethe knows {string.Join(", ", MethodRegistry.Adapters.Select(m => m.Name))}");
        var adapter = new UnlearningAdapter(method, reader.Read(file), model, probes, hyper, report)
        {
            Settings = file.Metadata.ContainsKey("settings") ? file.Json("settings") as JsonObject : null,
        };
        adapter.SourcePath = Path.GetFullPath(path);
        return adapter;
    }
}

/// <summary>
/// An adapter file opened for reading: its metadata and tensors, each refused with the file's name
/// when missing or damaged (a NaN statistic would silently poison every forward pass under the adapter).
/// </summary>
public sealed class AdapterFileReader(string path, SafeTensorsFile file)
{
    public string Path => path;
    public IReadOnlyDictionary<string, string> Metadata => file.Metadata;

    public string Meta(string key) => file.Metadata.TryGetValue(key, out var v) ? v
        : throw new LetheException($"{path}: the metadata lacks '{key}'; the file is damaged or was not written by Lethe");

    public JsonNode Json(string key)
    {
        try { return JsonNode.Parse(Meta(key)) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new LetheException($"{path}: metadata '{key}' is not valid JSON ({e.Message})"); }
    }

    public double Number(string key) => double.TryParse(Meta(key), NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && double.IsFinite(x) ? x
        : throw new LetheException($"{path}: metadata '{key}' = '{Meta(key)}' is not a finite number");

    /// <summary>A metadata value that must be one of the given words (absent: fallback, or an error when there is none).</summary>
    public T Choice<T>(string key, IReadOnlyDictionary<string, T> choices, T? fallback = null) where T : struct
    {
        if (!file.Metadata.TryGetValue(key, out var v) && fallback is T f) return f;
        v = Meta(key);
        return choices.TryGetValue(v, out var c) ? c
            : throw new LetheException($"{path}: {key} '{v}' is {(choices.Count == 2 ? "neither " + string.Join(" nor ", choices.Keys.Select(k => $"'{k}'")) : "not one of " + string.Join(", ", choices.Keys))}");
    }

    public T[] Tensor<T>(string name) where T : unmanaged
    {
        if (!file.Contains(name)) throw new LetheException($"{path}: tensor '{name}' is missing; the adapter file is damaged");
        var values = file.ReadArray<T>(name);
        if (values is double[] d && Array.FindIndex(d, x => !double.IsFinite(x)) is int bad and >= 0)
            throw new LetheException($"{path}: tensor '{name}' holds {d[bad]} at index {bad}; an adapter's values must be finite — the file is damaged, refit the adapter");
        return values;
    }

    /// <summary>Refuses tensors of one method whose lengths differ (they describe the same items).</summary>
    public void SameLength(string what, params Array[] arrays)
    {
        if (arrays.Any(a => a.Length != arrays[0].Length))
            throw new LetheException($"{path}: the {what} tensors have different lengths; the adapter file is damaged");
    }
}
