// The result of training-free unlearning: an adapter file that `lethe generate`, `lethe eval` and
// the library apply at inference. It is one safetensors file — tensors plus "__metadata__" strings
// — readable by any safetensors reader:
//   __metadata__: format = "lethe.adapter", version = "1", method = ksd | neuron-adjust | prune,
//     hyperparameters (JSON), layers (JSON array), model (JSON, ModelIdentity), probes (JSON array:
//     role, path, sha256 of the file, schema, texts, tokens, truncated), report (JSON: fit figures),
//     and per method: ksd.alpha, ksd.combine, ksd.refusal; na.map, na.seed, na.draw (per-element when absent).
//   tensors: ksd.layers I32 [n], ksd.kstar F64 [n], ksd.{layer}.mean / ksd.{layer}.std F64 [d_ff];
//     na.layer, na.index I32 [k], na.forget_mean, na.forget_std, na.retain_mean, na.retain_std F64 [k];
//     prune.layer, prune.index I32 [k], prune.score F64 [k].
// Statistics are stored in double so that a loaded detector decides exactly as the fitted one.
// CreateIntervention refuses a model whose identity differs from the one recorded.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.IO;
using Lethe.Models;
using Lethe.Models.Generation;

namespace Lethe.Unlearning;

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

    private UnlearningAdapter(string method, ModelIdentity model, IReadOnlyList<ProbeFileRecord> probes, JsonObject hyperparameters, JsonObject report)
    {
        Method = method; Model = model; Probes = probes; Hyperparameters = hyperparameters; Report = report;
    }

    public UnlearningAdapter(KeySpaceDetector detector, ModelIdentity model, IReadOnlyList<ProbeFileRecord> probes, JsonObject hyperparameters, JsonObject report)
        : this(AdapterMethods.KeySpaceDetection, model, probes, hyperparameters, report) => Detector = detector;

    public UnlearningAdapter(NeuronAdjust adjust, ModelIdentity model, IReadOnlyList<ProbeFileRecord> probes, JsonObject hyperparameters, JsonObject report)
        : this(AdapterMethods.NeuronAdjust, model, probes, hyperparameters, report) => NeuronAdjust = adjust;

    public UnlearningAdapter(SelectivePruning pruning, ModelIdentity model, IReadOnlyList<ProbeFileRecord> probes, JsonObject hyperparameters, JsonObject report)
        : this(AdapterMethods.SelectivePruning, model, probes, hyperparameters, report) => Pruning = pruning;

    public string Method { get; }
    public KeySpaceDetector? Detector { get; }
    public NeuronAdjust? NeuronAdjust { get; }
    public SelectivePruning? Pruning { get; }
    public ModelIdentity Model { get; }
    public IReadOnlyList<ProbeFileRecord> Probes { get; }
    public JsonObject Hyperparameters { get; }
    /// <summary>Figures of the fit (k*, calibration, coverage curve, selected neurons per layer…).</summary>
    public JsonObject Report { get; }
    /// <summary>Where the adapter was loaded from (null when built in memory).</summary>
    public string? SourcePath { get; private set; }

    /// <summary>Layers the adapter acts on, ascending.</summary>
    public IReadOnlyList<int> Layers => (Detector?.Layers ?? NeuronAdjust?.Neurons.Select(n => n.Layer) ?? Pruning!.Neurons.Select(n => n.Layer))
        .Distinct().OrderBy(l => l).ToArray();

    /// <summary>The adapter's hooks and abstention for this model; a model other than the one it was fitted on is an error.</summary>
    public InferenceIntervention CreateIntervention(TransformerModel model, ulong? seed = null)
    {
        Model.RequireSame(ModelIdentity.Of(model), SourcePath ?? "the adapter");
        return Method switch
        {
            AdapterMethods.KeySpaceDetection => Detector!.CreateIntervention(model),
            AdapterMethods.NeuronAdjust => NeuronAdjust!.CreateIntervention(model, seed),
            _ => Pruning!.CreateIntervention(model),
        };
    }

    // ---- file format ----

    private static string Json(JsonNode node) => node.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    private static string Num(double x) => x.ToString("R", CultureInfo.InvariantCulture);

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
        switch (Method)
        {
            case AdapterMethods.KeySpaceDetection:
            {
                var d = Detector!;
                meta["ksd.alpha"] = Num(d.Alpha);
                meta["ksd.combine"] = d.Combine == BoxCombine.All ? "all" : "any";
                meta["ksd.refusal"] = d.Refusal;
                var layers = d.Layers.ToArray();
                w.Add("ksd.layers", layers, layers.Length);
                w.Add("ksd.kstar", layers.Select(l => d.Boxes[l].KStar).ToArray(), layers.Length);
                foreach (int l in layers)
                {
                    w.Add($"ksd.{l}.mean", d.Boxes[l].Mean, d.Boxes[l].Width);
                    w.Add($"ksd.{l}.std", d.Boxes[l].Std, d.Boxes[l].Width);
                }
                break;
            }
            case AdapterMethods.NeuronAdjust:
            {
                var a = NeuronAdjust!; int k = a.Neurons.Count;
                meta["na.map"] = a.Map == NeuronAdjustMap.Reflected ? "reflected" : "unreflected";
                meta["na.seed"] = a.Seed.ToString(CultureInfo.InvariantCulture);
                meta["na.draw"] = a.Draw == NeuronAdjustDraw.Shared ? "shared" : "per-element";
                w.Add("na.layer", a.Neurons.Select(n => n.Layer).ToArray(), k);
                w.Add("na.index", a.Neurons.Select(n => n.Index).ToArray(), k);
                w.Add("na.forget_mean", a.Neurons.Select(n => n.ForgetMean).ToArray(), k);
                w.Add("na.forget_std", a.Neurons.Select(n => n.ForgetStd).ToArray(), k);
                w.Add("na.retain_mean", a.Neurons.Select(n => n.RetainMean).ToArray(), k);
                w.Add("na.retain_std", a.Neurons.Select(n => n.RetainStd).ToArray(), k);
                break;
            }
            default:
            {
                var p = Pruning!; int k = p.Neurons.Count;
                w.Add("prune.layer", p.Neurons.Select(n => n.Layer).ToArray(), k);
                w.Add("prune.index", p.Neurons.Select(n => n.Index).ToArray(), k);
                w.Add("prune.score", p.Neurons.Select(n => n.Score).ToArray(), k);
                break;
            }
        }
        w.Save(path);
    }

    public static UnlearningAdapter Load(string path)
    {
        if (Directory.Exists(path)) throw new LetheException($"{path}: is a folder; an adapter is one .safetensors file written by `lethe unlearn ... --out FILE`");
        if (!File.Exists(path)) throw new LetheException($"{path}: adapter file not found; write one with `lethe unlearn ksd|neuron-adjust|prune MODEL ... --out FILE`");
        using var f = SafeTensorsFile.Open(path);
        var meta = f.Metadata;
        string Meta(string key) => meta.TryGetValue(key, out var v) ? v
            : throw new LetheException($"{path}: the metadata lacks '{key}'; the file is damaged or was not written by `lethe unlearn`");
        if (!meta.TryGetValue("format", out var format) || format != FormatName)
            throw new LetheException($"{path}: not a Lethe unlearning adapter (its safetensors metadata has no format = {FormatName}); is this a model or another file?");
        if (Meta("version") != FormatVersion)
            throw new LetheException($"{path}: adapter format version {Meta("version")} is not supported by this Lethe (it reads version {FormatVersion}); refit the adapter");
        JsonNode Parse(string key)
        {
            try { return JsonNode.Parse(Meta(key)) ?? throw new JsonException("null"); }
            catch (JsonException e) { throw new LetheException($"{path}: metadata '{key}' is not valid JSON ({e.Message})"); }
        }
        T[] Read<T>(string name) where T : unmanaged
        {
            if (!f.Contains(name)) throw new LetheException($"{path}: tensor '{name}' is missing; the adapter file is damaged");
            var values = f.ReadArray<T>(name);
            // A NaN or infinite statistic would silently poison every forward pass under the adapter.
            if (values is double[] d && Array.FindIndex(d, x => !double.IsFinite(x)) is int bad and >= 0)
                throw new LetheException($"{path}: tensor '{name}' holds {d[bad]} at index {bad}; an adapter's values must be finite — the file is damaged, refit the adapter");
            return values;
        }
        double Number(string key) => double.TryParse(Meta(key), NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && double.IsFinite(x) ? x
            : throw new LetheException($"{path}: metadata '{key}' = '{Meta(key)}' is not a finite number");

        var model = ModelIdentity.FromJson(Parse("model") as JsonObject ?? throw new LetheException($"{path}: metadata 'model' must be a JSON object"), path);
        List<ProbeFileRecord> probes;
        try
        {
            probes = (Parse("probes") as JsonArray ?? throw new LetheException($"{path}: metadata 'probes' must be a JSON array"))
                .Select(p => new ProbeFileRecord((string)p!["role"]!, (string)p["path"]!, (string)p["sha256"]!, (string)p["schema"]!,
                    (int)p["texts"]!, (long)p["tokens"]!, (int)p["truncated"]!)).ToList();
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or InvalidCastException)
        {
            throw new LetheException($"{path}: metadata 'probes' is damaged ({e.Message}); refit the adapter");
        }
        var hyper = Parse("hyperparameters") as JsonObject ?? new JsonObject();
        var report = Parse("report") as JsonObject ?? new JsonObject();
        string method = Meta("method");
        UnlearningAdapter adapter;
        switch (method)
        {
            case AdapterMethods.KeySpaceDetection:
            {
                var layers = Read<int>("ksd.layers"); var kstar = Read<double>("ksd.kstar");
                if (kstar.Length != layers.Length) throw new LetheException($"{path}: ksd.kstar has {kstar.Length} entries for {layers.Length} layers");
                var boxes = new Dictionary<int, HypercubeFit>();
                for (int i = 0; i < layers.Length; i++)
                    boxes[layers[i]] = new HypercubeFit(Read<double>($"ksd.{layers[i]}.mean"), Read<double>($"ksd.{layers[i]}.std"), kstar[i]);
                var combine = Meta("ksd.combine") switch
                {
                    "all" => BoxCombine.All, "any" => BoxCombine.Any,
                    var c => throw new LetheException($"{path}: ksd.combine '{c}' is neither 'all' nor 'any'"),
                };
                adapter = new UnlearningAdapter(new KeySpaceDetector(boxes, Number("ksd.alpha"), combine, Meta("ksd.refusal")), model, probes, hyper, report);
                break;
            }
            case AdapterMethods.NeuronAdjust:
            {
                var layer = Read<int>("na.layer"); var index = Read<int>("na.index");
                var fm = Read<double>("na.forget_mean"); var fs = Read<double>("na.forget_std");
                var rm = Read<double>("na.retain_mean"); var rs = Read<double>("na.retain_std");
                if (new[] { index.Length, fm.Length, fs.Length, rm.Length, rs.Length }.Any(n => n != layer.Length))
                    throw new LetheException($"{path}: the na.* tensors have different lengths; the adapter file is damaged");
                var neurons = Enumerable.Range(0, layer.Length).Select(i => new AdjustedNeuron(layer[i], index[i], fm[i], fs[i], rm[i], rs[i])).ToList();
                var map = Meta("na.map") switch
                {
                    "reflected" => NeuronAdjustMap.Reflected, "unreflected" => NeuronAdjustMap.Unreflected,
                    var m => throw new LetheException($"{path}: na.map '{m}' is neither 'reflected' nor 'unreflected'"),
                };
                if (!ulong.TryParse(Meta("na.seed"), NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed))
                    throw new LetheException($"{path}: na.seed '{Meta("na.seed")}' is not an unsigned integer");
                var draw = meta.TryGetValue("na.draw", out var d) ? d switch
                {
                    "per-element" => NeuronAdjustDraw.PerElement, "shared" => NeuronAdjustDraw.Shared,
                    _ => throw new LetheException($"{path}: na.draw '{d}' is neither 'per-element' nor 'shared'"),
                } : NeuronAdjustDraw.PerElement;
                adapter = new UnlearningAdapter(new NeuronAdjust(neurons, map, seed, draw), model, probes, hyper, report);
                break;
            }
            case AdapterMethods.SelectivePruning:
            {
                var layer = Read<int>("prune.layer"); var index = Read<int>("prune.index"); var score = Read<double>("prune.score");
                if (index.Length != layer.Length || score.Length != layer.Length)
                    throw new LetheException($"{path}: the prune.* tensors have different lengths; the adapter file is damaged");
                adapter = new UnlearningAdapter(new SelectivePruning(Enumerable.Range(0, layer.Length).Select(i => new PrunedNeuron(layer[i], index[i], score[i])).ToList()),
                    model, probes, hyper, report);
                break;
            }
            default:
                throw new LetheException($"{path}: unknown adapter method '{method}'; this Lethe knows ksd, neuron-adjust and prune");
        }
        adapter.SourcePath = Path.GetFullPath(path);
        return adapter;
    }
}
