// `lethe vectors MODEL ...`: value vectors (columns of down_proj) and concept vectors.
//   --layer L --dim J [--top K]            the vector's top tokens through the final norm and unembedding
//   --concept NAME --data FILE             the value vectors most about a concept (best first), and a
//                                          noise test of the best one: concept vs unrelated questions
//   --locate OUT.json --data FILE          the best value vector of every concept in FILE, as JSON
//   --compare MODEL2                       drift per layer: value-vector cosine, relative L2 changes
using System.CommandLine;
using Lethe.IO;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lethe.Analysis;
using Lethe.Data.Readers;
using Lethe.Models;
using Lethe.Tensors;
using Lethe.Tokenizers;

namespace Lethe.Cli.Commands;

public static class VectorsCommand
{
    public static Command Build()
    {
        var model = CliArgs.Model();
        var layer = new Option<int?>("--layer") { Description = "Layer of the value vector" };
        var dim = new Option<int?>("--dim") { Description = "Column of down_proj (0 … d_ff − 1)" };
        var top = new Option<int>("--top") { Description = "Tokens shown per vector", DefaultValueFactory = _ => 20 };
        var concept = new Option<string?>("--concept") { Description = "Search the value vectors about this concept (needs --data)" };
        var data = new Option<string?>("--data") { Description = "Concept file (ConceptVectors' JSON or Lethe's concept lines)" };
        var candidates = new Option<int>("--candidates") { Description = "Candidates listed per concept", DefaultValueFactory = _ => 5 };
        var perturb = new Option<int>("--perturb") { Description = "Noise test: how many of the best vectors get noise together", DefaultValueFactory = _ => 1 };
        var noise = new Option<double>("--noise") { Description = "Noise std for the validation, as a multiple of the vector's RMS (0 = no validation)", DefaultValueFactory = _ => 5 };
        var locate = new Option<string?>("--locate") { Description = "Write every concept's best value vector in --data to this JSON file" };
        var compare = new Option<string?>("--compare") { Description = "Another version of MODEL: value-vector drift per layer" };
        var json = new Option<string?>("--json") { Description = "Also write the result as JSON to this file" };
        var dtype = CliArgs.DType();
        var cmd = new Command("vectors", "Value vectors and concept vectors: vocabulary projection, concept search with a noise test, drift between two models")
        { model, layer, dim, top, concept, data, candidates, perturb, noise, locate, compare, json, dtype };
        var force = CliChecks.Force();
        cmd.Add(force);
        cmd.SetAction(parse =>
        {
            string folder = parse.GetValue(model)!;
            // Outputs (--locate, --json) are checked against the inputs before any work.
            var policy = CliChecks.Outputs(parse, "vectors", force).Inputs(folder, parse.GetValue(data), parse.GetValue(compare));
            if (parse.GetValue(locate) is { } locateOut) policy.File("--locate", locateOut, OutputPolicy.JsonWithKeys("concepts"));
            if (parse.GetValue(json) is { } jsonOut) policy.File("--json", jsonOut);
            var o = parse.InvocationConfiguration.Output;
            DType? dt = CliArgs.FloatDType(parse, dtype);
            JsonNode result;
            if (parse.GetValue(compare) is { } other)
            {
                ModelPair.RequireComparable(folder, other);
                using var a = ModelLoader.Load(folder, dt); using var b = ModelLoader.Load(other, dt);
                var drift = ValueVectors.Drift(a, b);
                o.WriteLine($"drift {folder} → {other}");
                o.WriteLine($"{"layer",5}  {"value cos mean",14}  {"value cos min",13}  {"value ΔL2",10}  {"gate/up ΔL2",11}  {"attn ΔL2",10}");
                foreach (var x in drift) o.WriteLine($"{x.Layer,5}  {x.MeanCosine,14:0.000000}  {x.MinCosine,13:0.000000}  {x.ValueRelativeL2,10:0.0000}  {x.KeyRelativeL2,11:0.0000}  {x.AttentionRelativeL2,10:0.0000}");
                result = new JsonObject { ["original"] = folder, ["other"] = other, ["drift"] = Dissection.DriftJson(drift) };
            }
            else if (parse.GetValue(concept) is { } name)
                result = SearchOne(folder, dt, name, Require(parse.GetValue(data), "--concept"), parse.GetValue(top), parse.GetValue(candidates), parse.GetValue(perturb), parse.GetValue(noise), parse.GetValue(LetheCli.Seed) ?? 1, o);
            else if (parse.GetValue(locate) is { } outFile)
            {
                var concepts = ConceptReader.Read(Require(parse.GetValue(data), "--locate"));
                using var m = ModelLoader.Load(folder, dt);
                var found = ConceptVectorSearch.Search(m, Tokenizer.Load(folder), concepts, candidates: 1, topK: parse.GetValue(top));
                var arr = new JsonArray(concepts.Select(c => found[c.Concept][0]).Select(c => (JsonNode?)Candidate(c)).ToArray());
                result = new JsonObject { ["model"] = folder, ["data"] = parse.GetValue(data), ["method"] = "mean standardised logit of the concept's tokens (name and gold answers) in the value vector's vocabulary projection", ["concepts"] = arr };
                Util.AtomicFile.WriteAllText(outFile, result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
                o.WriteLine($"located {concepts.Count} concepts; wrote {outFile}");
            }
            else if (parse.GetValue(layer) is int l && parse.GetValue(dim) is int j)
            {
                using var m = ModelLoader.Load(folder, dt);
                ValueVectors.Down(m, l); ValueVectors.RequireDim(m, j);
                var tops = ValueVectors.Top(ValueVectors.Project(m, l, j, 1), parse.GetValue(top), Tokenizer.Load(folder));
                o.WriteLine($"value vector layer {l}, dim {j} of {folder}: top {tops.Count} tokens");
                foreach (var t in tops) o.WriteLine($"{t.Logit,10:0.000}  {t.Id,6}  {Show(t.Token)}");
                result = new JsonObject { ["layer"] = l, ["dim"] = j, ["top"] = Tokens(tops) };
            }
            else throw new LetheException("lethe vectors: give --layer L --dim J, --concept NAME --data FILE, --locate OUT.json --data FILE, or --compare MODEL2");
            if (parse.GetValue(json) is { } jf) Util.AtomicFile.WriteAllText(jf, result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            return 0;
        });
        return cmd;
    }

    private static string Require(string? value, string what) => value ?? throw new LetheException($"{what} needs --data FILE (a concept file)");

    private static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static string Show(string token) => JsonSerializer.Serialize(token, Readable);

    private static JsonArray Tokens(IEnumerable<TokenScore> tops) => new(tops.Select(t => (JsonNode?)new JsonObject { ["id"] = t.Id, ["token"] = t.Token, ["logit"] = t.Logit }).ToArray());

    private static JsonObject Candidate(ConceptVectorCandidate c) => new()
    {
        ["concept"] = c.Concept, ["layer"] = c.Layer, ["dim"] = c.Dim, ["score"] = c.Score, ["top_hits"] = c.TopHits, ["top"] = Tokens(c.Top.Take(10)),
    };

    private static JsonNode SearchOne(string folder, DType? dt, string name, string dataFile, int top, int candidates, int perturb, double noise, ulong seed, TextWriter o)
    {
        var concepts = ConceptReader.Read(dataFile);
        var c = concepts.FirstOrDefault(x => x.Concept == name)
            ?? throw new LetheException($"{dataFile}: no concept named '{name}'; it has {string.Join(", ", concepts.Take(12).Select(x => $"'{x.Concept}'"))}{(concepts.Count > 12 ? ", ..." : "")}");
        var tokenizer = Tokenizer.Load(folder);
        using var m = ModelLoader.Load(folder, dt, writable: noise > 0);
        if (perturb < 1) throw new LetheException($"--perturb must be ≥ 1, got {perturb}");
        var found = ConceptVectorSearch.Search(m, tokenizer, new[] { c }, Math.Max(candidates, perturb), top)[c.Concept];
        o.WriteLine($"concept '{name}': {found.Count} best value vectors of {folder} (score: mean standardised logit of the concept's tokens)");
        foreach (var f in found)
            o.WriteLine($"  layer {f.Layer,2} dim {f.Dim,6}  score {f.Score,6:0.000}  concept tokens in top {top}: {f.TopHits,2}  top: {string.Join(" ", f.Top.Take(8).Select(t => Show(t.Token)))}");
        if (c.Layer is int gl && c.Dim is int gd) o.WriteLine($"  (the data file locates it at layer {gl}, dim {gd})");
        var result = new JsonObject { ["concept"] = name, ["candidates"] = new JsonArray(found.Select(f => (JsonNode?)Candidate(f)).ToArray()) };
        if (noise > 0)
        {
            var unrelated = c.UnrelatedQuestions.Count > 0 ? c.UnrelatedQuestions.ToList()
                : concepts.Where(x => x.Concept != name).SelectMany(x => x.Questions.Select(q => q.Question)).Take(50).ToList();
            var chosen = found.Take(perturb).Select(f => (f.Layer, f.Dim)).ToList();
            var v = ConceptVectorSearch.Validate(m, tokenizer, c.Questions.Select(q => q.Question).ToList(), unrelated, chosen, noise, seed);
            static string Where(IEnumerable<(int Layer, int Dim)> xs) => string.Join(", ", xs.Select(x => $"{x.Layer}:{x.Dim}"));
            o.WriteLine($"noise test: N(0, ({noise} × RMS)²) (mean std {v.NoiseStd:0.####}) added to layer:dim {Where(v.Vectors)}; control: {Where(v.Controls)}");
            o.WriteLine($"  {"questions",-22} {"n",3}  {"log p before",12}  {"after",8}  {"answers unchanged",17}  {"control: after",14}  {"unchanged",9}");
            void Row(string what, QaShift s, QaShift ctl) =>
                o.WriteLine($"  {what,-22} {s.Questions,3}  {s.LogProbBefore,12:0.000}  {s.LogProbAfter,8:0.000}  {s.Unchanged,17:P0}  {ctl.LogProbAfter,14:0.000}  {ctl.Unchanged,9:P0}");
            Row("concept", v.Concept, v.ControlConcept);
            Row("unrelated", v.Unrelated, v.ControlUnrelated);
            static JsonObject Q(QaShift s) => new() { ["questions"] = s.Questions, ["logprob_before"] = s.LogProbBefore, ["logprob_after"] = s.LogProbAfter, ["unchanged"] = s.Unchanged };
            result["validation"] = new JsonObject
            {
                ["vectors"] = Where(v.Vectors), ["noise_rms_multiple"] = noise, ["noise_std_mean"] = v.NoiseStd, ["concept"] = Q(v.Concept), ["unrelated"] = Q(v.Unrelated),
                ["controls"] = Where(v.Controls), ["control_concept"] = Q(v.ControlConcept), ["control_unrelated"] = Q(v.ControlUnrelated),
            };
        }
        return result;
    }
}
