// `lethe dissect --original M --unlearned M2 --questions F --out DIR`: [S2]'s dissection of an
// unlearned model against its original — KRS of activation patching per hook point, positions and
// layer window (both directions with --reverse), of parameter restoration per group, and the drift
// of the value vectors. Writes DIR/dissection.json and DIR/dissection.txt (the tables, also printed).
using System.CommandLine;
using Lethe.IO;
using Lethe.Analysis;
using Lethe.Tensors;

namespace Lethe.Cli.Commands;

public static class DissectCommand
{
    public static Command Build()
    {
        var original = new Option<string>("--original") { Description = "The model before unlearning (a model folder)", Required = true };
        var unlearned = new Option<string>("--unlearned") { Description = "The model after unlearning (same architecture and tokenizer)", Required = true };
        var questions = new Option<string>("--questions") { Description = "Questions: a concept file (ConceptVectors' JSON or Lethe's concept lines) or a .txt file, one per line", Required = true };
        var concept = new Option<string[]>("--concept") { Description = "Only the questions of these concepts (by name)", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out", "-o") { Description = "Folder for dissection.json and dissection.txt", Required = true };
        var points = new Option<string>("--points") { Description = "Patch points: mlp.coeff, attn_out, both, mlp_out, resid_post, resid_pre, resid_mid, mlp.pre_act", DefaultValueFactory = _ => string.Join(",", PatchPoints.Default) };
        var positions = new Option<string>("--positions") { Description = "Positions patched: all, answer, last (comma-separated)", DefaultValueFactory = _ => "all" };
        var radius = new Option<int>("--radius") { Description = "Sliding windows [l - r, l + r] clipped to the model", DefaultValueFactory = _ => 2 };
        var layers = new Option<string?>("--layers") { Description = "One window a-b instead of the sliding ones" };
        var restore = new Option<string>("--restore") { Description = "Parameter groups to restore: down_proj, gate_up, attention, norms, regular expressions over weight names, or none", DefaultValueFactory = _ => string.Join(",", ParameterGroups.Default) };
        var reverse = new Option<bool>("--reverse") { Description = "Also patch unlearned → original" };
        var answerTokens = new Option<int>("--answer-tokens") { Description = "Greedy answer length of the original model", DefaultValueFactory = _ => AnswerSet.DefaultAnswerTokens };
        var dtype = CliArgs.DType();
        var cmd = new Command("dissect", "Is the knowledge gone or only hidden? KRS of activation patching and parameter restoration between an original and an unlearned model")
        { original, unlearned, questions, concept, output, points, positions, radius, layers, restore, reverse, answerTokens, dtype };
        var force = CliChecks.Force();
        cmd.Add(force);
        cmd.SetAction(parse =>
        {
            static string[] List(string text) => text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var d = CliArgs.FloatDType(parse, dtype);
            var restoreGroups = List(parse.GetValue(restore)!);
            var options = new DissectionOptions
            {
                Points = List(parse.GetValue(points)!), Positions = List(parse.GetValue(positions)!).Select(PatchPoints.ParsePositions).ToArray(),
                Radius = parse.GetValue(radius), Layers = parse.GetValue(layers), Restore = restoreGroups is ["none"] ? Array.Empty<string>() : restoreGroups,
                Reverse = parse.GetValue(reverse), AnswerTokens = parse.GetValue(answerTokens), DType = d,
                Seed = parse.GetValue(LetheCli.Seed) ?? 1,
            };
            if (options.Points.Count == 0 || options.Positions.Count == 0) throw new LetheException("--points and --positions need at least one entry each");
            CliChecks.Outputs(parse, "dissect", force).Inputs(parse.GetValue(original), parse.GetValue(unlearned), parse.GetValue(questions))
                .Folder("--out", parse.GetValue(output), OutputPolicy.FolderOf("dissection.json", "dissection.txt"));
            var qs = QuestionSource.Read(parse.GetValue(questions)!, parse.GetValue(concept));
            bool quiet = parse.GetValue(LetheCli.Quiet);
            var err = parse.InvocationConfiguration.Error;
            var result = Dissection.Run(parse.GetValue(original)!, parse.GetValue(unlearned)!, qs, options, quiet ? null : m => err.WriteLine(m));
            var (json, table) = Dissection.Write(result, parse.GetValue(output)!);
            var stdout = parse.InvocationConfiguration.Output;
            stdout.Write(Dissection.Table(result));
            stdout.WriteLine($"wrote {json} and {table}");
            return 0;
        });
        return cmd;
    }
}
