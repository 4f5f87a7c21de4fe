// Key Space Detection [S1 §1.2] as a registered method: its parameters, its fit (AdapterFitter.
// FitKeySpaceDetection; with sweep_layers, layers and combine chosen first on validation probe sets
// by AdapterFitter.SweepKeySpaceLayers), its part of the adapter file and its summary.
// Parameter key: last ([S1], default: the key at the newest token), mean (beyond [S1]: the running
// mean of the keys over the tokens so far, KeyPooling.cs) or either (with sweep_layers: the
// validation split chooses the pooling with the layers).
// File keys: metadata ksd.alpha, ksd.combine, ksd.refusal, ksd.key (absent in older files = last); tensors ksd.layers I32 [n], ksd.kstar F64 [n],
// ksd.{layer}.mean / ksd.{layer}.std F64 [d_ff] (double, so a loaded detector decides exactly as the fitted one).
using System.Globalization;
using System.Text.Json.Nodes;
using Lethe.IO;
using Lethe.Models.Generation;
using Lethe.Unlearning.Training;

namespace Lethe.Unlearning.Methods;

public sealed class KeySpaceDetection : IAdapterMethod
{
    public string Name => AdapterMethods.KeySpaceDetection;
    public string Summary => "Key Space Detection: abstain when a query's key vector falls in the forget skill's hypercube";
    public MethodKind Kind => MethodKind.Adapter;
    public bool Random => false;

    private static readonly Dictionary<string, BoxCombine> Combines = new() { ["all"] = BoxCombine.All, ["any"] = BoxCombine.Any };
    private static readonly Dictionary<string, KeyPooling> Poolings = new() { ["last"] = KeyPooling.Last, ["mean"] = KeyPooling.Mean };

    public IReadOnlyList<MethodParameter> Parameters { get; } = ProbeParameters.For(probeText: "prompt", layers: "last").Concat(new MethodParameter[]
    {
        new("alpha", "", "box size factor: μ ± α·k*·σ (default: calibrated to target_fpr on the retain probes)"),
        new("target_fpr", "", "false-positive rate on the retain probes that calibrates α (default 0.01)"),
        new("combine", "all", "with several layers: flag when inside all boxes or any box", new[] { "all", "any" }),
        new("refusal", InferenceIntervention.DefaultRefusal, "the answer given instead when a query is detected") { IsText = true },
        new("holdout", "0.2", "fraction of each probe set held out to measure coverage and false positives (0 = in-sample)"),
        new("calibrate_on", "auto", "answer: α from the queries' last tokens and every token of each probe's answer (needs probe_text prompt and files with answers), " +
            "as the detector checks generated tokens too; query: the last tokens only; auto: answer when every probe file carries answers, else query", new[] { "auto", "answer", "query" }),
        new("sweep_layers", "false", "choose layers and combine (single layers and pairs) on validation probe sets instead of the layers setting", new[] { "false", "true" }),
        new("key", "last", "the vector tested at each token: last = the layer's key at that token ([S1]); mean = the running mean of the keys over the tokens so far, " +
            "prompt and generated (beyond [S1]: it carries what the text is about, e.g. its language); either = let sweep_layers choose on the validation split", new[] { "last", "mean", "either" }),
    }).ToList();

    public bool NeedsRetain(MethodSettings s) => !s.IsSet("alpha");
    public bool NeedsValidation(MethodSettings s) => s.Text("sweep_layers") == "true";
    public string Label(MethodSettings s) => "KSD";

    public UnlearningAdapter Fit(AdapterFitContext c)
    {
        var s = c.Settings;
        var part = ProbeParameters.Part(s);
        double? alpha = s.OptionalNumber("alpha"), fpr = s.OptionalNumber("target_fpr");
        if (alpha is not null && fpr is not null) throw LetheException.About("ksd: give either alpha or target_fpr, not both", "alpha", "target_fpr");
        bool onAnswers = s.Text("calibrate_on") switch
        {
            "query" => false,
            "auto" => part == ProbeTextPart.Prompt && c.Forget.Concat(c.Retain).All(f => f.Answers is not null),
            _ when part == ProbeTextPart.Prompt => true,
            _ => throw LetheException.About("ksd: calibrate_on answer needs probe_text prompt (the probes are queries, their answers are read from the same lines)", "calibrate_on", "probe_text"),
        };
        var options = ProbeParameters.Apply(new KeySpaceDetectionOptions
        {
            Layers = ProbeParameters.Layers(s, c.Model.Config.NumLayers), Alpha = alpha, TargetFalsePositiveRate = fpr ?? 0.01,
            Combine = Combines[s.Text("combine")], Refusal = s.Text("refusal"), Holdout = s.Number("holdout"), Seed = c.Seed, CalibrateOnAnswers = onAnswers,
        }, s);
        string key = s.Text("key");
        if (key == "either" && !NeedsValidation(s))
            throw LetheException.About("ksd: key either lets the layer sweep choose the key pooling on a validation split; set sweep_layers true, or choose last or mean", "key", "sweep_layers");
        if (key != "either") options = options with { Pooling = KeyPoolings.Parse(key, "ksd key") };
        JsonObject? sweepReport = null;
        if (NeedsValidation(s))
        {
            if (c.ForgetValidation is null || c.Forget.Count != 1)
                throw LetheException.About("ksd: sweep_layers chooses layers on a validation probe set of the one forget skill, and none was given; " +
                    "give one forget skill with its validation split (a world's skills), or set the layers yourself", "sweep_layers");
            var poolings = key == "either" ? new[] { KeyPooling.Last, KeyPooling.Mean } : new[] { options.Pooling };
            var (rows, best) = AdapterFitter.SweepKeySpaceLayers(c.Model, c.Tokenizer, c.Forget[0], c.Retain, c.ForgetValidation, c.RetainValidation, options, c.Cancel, poolings);
            options = options with { Layers = best.Layers, Combine = best.Combine, Pooling = best.Pooling };
            sweepReport = new JsonObject
            {
                ["decided_on"] = "validation split", ["rule"] = "max validation coverage − worst retain skill's validation FPR, α calibrated per retain skill on the probe split",
                ["keys"] = new JsonArray(poolings.Select(p => (JsonNode)KeyPoolings.Name(p)).ToArray()),
                ["chosen"] = best.ToJson(),
                ["rows"] = new JsonArray(rows.Select(r => (JsonNode)r.ToJson()).ToArray()),
            };
        }
        var adapter = AdapterFitter.FitKeySpaceDetection(c.Model, c.Tokenizer, c.Forget, c.Retain, options, c.Progress, c.Cancel);
        if (sweepReport is not null) adapter.Report["layer_sweep"] = sweepReport;
        return adapter;
    }

    public void Write(IAdapterPayload payload, SafeTensorsWriter w)
    {
        var d = (KeySpaceDetector)payload;
        w.Metadata["ksd.alpha"] = ProbeParameters.Format(d.Alpha);
        w.Metadata["ksd.combine"] = d.Combine == BoxCombine.All ? "all" : "any";
        w.Metadata["ksd.refusal"] = d.Refusal;
        if (d.Pooling != KeyPooling.Last) w.Metadata["ksd.key"] = KeyPoolings.Name(d.Pooling); // absent: last, so [S1]'s files stay as they were
        var layers = d.Layers.ToArray();
        w.Add("ksd.layers", layers, layers.Length);
        w.Add("ksd.kstar", layers.Select(l => d.Boxes[l].KStar).ToArray(), layers.Length);
        foreach (int l in layers)
        {
            w.Add($"ksd.{l}.mean", d.Boxes[l].Mean, d.Boxes[l].Width);
            w.Add($"ksd.{l}.std", d.Boxes[l].Std, d.Boxes[l].Width);
        }
    }

    public IAdapterPayload Read(AdapterFileReader f)
    {
        var layers = f.Tensor<int>("ksd.layers"); var kstar = f.Tensor<double>("ksd.kstar");
        if (kstar.Length != layers.Length) throw new LetheException($"{f.Path}: ksd.kstar has {kstar.Length} entries for {layers.Length} layers");
        var boxes = new Dictionary<int, HypercubeFit>();
        for (int i = 0; i < layers.Length; i++)
            boxes[layers[i]] = new HypercubeFit(f.Tensor<double>($"ksd.{layers[i]}.mean"), f.Tensor<double>($"ksd.{layers[i]}.std"), kstar[i]);
        return new KeySpaceDetector(boxes, f.Number("ksd.alpha"), f.Choice("ksd.combine", Combines), f.Meta("ksd.refusal"), f.Choice("ksd.key", Poolings, KeyPooling.Last));
    }

    private static string Pct(double? x) => x is { } v ? (v * 100).ToString("F1", CultureInfo.InvariantCulture) + " %" : "n/a";

    public IEnumerable<string> Describe(UnlearningAdapter a)
    {
        var d = (KeySpaceDetector)a.Payload; var r = a.Report;
        foreach (var (layer, box) in d.Boxes) yield return $"layer {layer}: k* = {box.KStar.ToString("G6", CultureInfo.InvariantCulture)} over {box.Width} dimensions";
        string how = r["calibration"] is JsonObject cal
            ? $"calibrated: target false-positive rate {Pct((double)cal["target_fpr"]!)} for each retain skill; {Pct((double?)cal["achieved_fpr"])} over all {(int)cal["retain_queries"]!} retain calibration probes"
            : "given";
        yield return $"alpha = {d.Alpha.ToString("G6", CultureInfo.InvariantCulture)} ({how}); box = mean ± alpha·k*·std; combine = {(d.Combine == BoxCombine.All ? "all" : "any")}";
        yield return d.Pooling == KeyPooling.Last ? "key tested: the layer's key at each token (as [S1])"
            : "key tested: the running mean of the layer's keys over the tokens so far (beyond [S1])";
        if (r["per_retain_skill"] is JsonArray skills && skills.Count > 0)
        {
            yield return "false positives per retain skill:   calibration   held-out";
            foreach (var sk in skills)
                yield return $"  {(string)sk!["skill"]!,-30} {Pct((double?)sk["calibration_fpr"]),11}   {Pct((double?)sk["held_out_fpr"]),8}{(sk["protected"] is JsonValue v && !(bool)v ? "  <- no useful alpha keeps it under the target" : "")}";
        }
        if (r["calibration"]?["unprotected"] is JsonArray { Count: > 0 } un)
            yield return $"warning: no alpha that detects any forget probe keeps {string.Join(", ", un.Select(x => (string)x!))} under the target; alpha protects the other skills";
        yield return $"at this alpha, {r["measured_on"]}: forget coverage {Pct((double?)r["forget_coverage"])}, retain false positives {Pct((double?)r["retain_fpr"])}";
        if (d.Alpha > 3 && r["calibration"] is not null)
            yield return "note: alpha > 3 makes the box much wider than the forget probes' spread: the retain probes lie far from it, but other text may not; add retain probes of more skills, or fix alpha";
        yield return "coverage vs leakage:   alpha       k   forget coverage   retain FPR";
        var curve = (JsonArray)r["curve"]!;
        double shown = CoverageCurve.NiceStep(curve.Max(p => (double)p!["alpha"]!) / 10); // about ten rows
        foreach (var p in curve)
        {
            double al = (double)p!["alpha"]!;
            bool keep = Math.Abs(al / shown - Math.Round(al / shown)) < 1e-9 || al == d.Alpha || al == 1;
            if (keep)
                yield return $"                      {al,5:F2} {(double)p["k"]!,7:F2}   {Pct((double?)p["forget_coverage"]),15}   {Pct((double?)p["retain_fpr"]),10}{(al == d.Alpha ? "  <- alpha" : "")}";
        }
    }
}
