// `lethe verify --original M --unlearned M2 --forget F --retain F --out DIR`: does the forgetting
// survive attack? Knowledge recovery by patching the MLP coefficients (best window), a relearning
// attack (with --relearn-data), a linear probe per layer and token confidence, each with a plain
// verdict. Writes DIR/verify.json and DIR/verify.html (inline SVG plots); prints the verdicts.
using System.CommandLine;
using Lethe.IO;
using Lethe.Analysis;
using Lethe.Tensors;

namespace Lethe.Cli.Commands;

public static class VerifyCommand
{
    public static Command Build()
    {
        var original = new Option<string>("--original") { Description = "The model before unlearning", Required = true };
        var unlearned = new Option<string>("--unlearned") { Description = "The model after unlearning (same architecture and tokenizer)", Required = true };
        var forget = new Option<string>("--forget") { Description = "Forget questions: a concept file or a .txt file, one per line", Required = true };
        var retain = new Option<string>("--retain") { Description = "Retain questions (same formats)", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Folder for verify.json and verify.html", Required = true };
        var relearn = new Option<string[]>("--relearn-data") { Description = "Forget-domain text not used for unlearning (.txt or .jsonl), for the relearning attack", AllowMultipleArgumentsPerToken = true };
        var unrelated = new Option<string[]>("--unrelated-data") { Description = "Unrelated text for the same attack (a control)", AllowMultipleArgumentsPerToken = true };
        var steps = new Option<int>("--relearn-steps") { Description = "Fine-tuning steps of the attack", DefaultValueFactory = _ => 20 };
        var lr = new Option<float>("--relearn-lr") { Description = "Learning rate of the attack (constant)", DefaultValueFactory = _ => 1e-4f };
        var seqLen = new Option<int>("--relearn-seq-len") { Description = "Tokens per training sequence of the attack", DefaultValueFactory = _ => 64 };
        var radius = new Option<int>("--radius") { Description = "Sliding windows [l - r, l + r] for the patching check", DefaultValueFactory = _ => 2 };
        var answerTokens = new Option<int>("--answer-tokens") { Description = "Greedy answer length of the original model", DefaultValueFactory = _ => AnswerSet.DefaultAnswerTokens };
        var dtype = CliArgs.DType();
        var cmd = new Command("verify", "Did it really forget? Patching recovery, relearning attack, linear probe and token confidence, with verdicts")
        { original, unlearned, forget, retain, output, relearn, unrelated, steps, lr, seqLen, radius, answerTokens, dtype };
        var force = CliChecks.Force();
        cmd.Add(force);
        cmd.SetAction(parse =>
        {
            var d = CliArgs.FloatDType(parse, dtype);
            var options = new VerifyOptions
            {
                RelearnData = parse.GetValue(relearn) ?? Array.Empty<string>(), UnrelatedData = parse.GetValue(unrelated) ?? Array.Empty<string>(),
                RelearnSteps = parse.GetValue(steps), RelearnLearningRate = parse.GetValue(lr), RelearnSeqLen = parse.GetValue(seqLen), Radius = parse.GetValue(radius),
                AnswerTokens = parse.GetValue(answerTokens), DType = d, Seed = parse.GetValue(LetheCli.Seed) ?? 1,
            };
            CliChecks.Outputs(parse, "verify", force)
                .Inputs(parse.GetValue(original), parse.GetValue(unlearned), parse.GetValue(forget), parse.GetValue(retain), parse.GetValue(relearn), parse.GetValue(unrelated))
                .Folder("--out", parse.GetValue(output), OutputPolicy.FolderOf("verify.json", "verify.html"));
            bool quiet = parse.GetValue(LetheCli.Quiet);
            var err = parse.InvocationConfiguration.Error;
            var result = Verification.Run(parse.GetValue(original)!, parse.GetValue(unlearned)!, QuestionSource.Read(parse.GetValue(forget)!),
                QuestionSource.Read(parse.GetValue(retain)!), options, quiet ? null : m => err.WriteLine(m));
            var (json, html) = Verification.Write(result, parse.GetValue(output)!);
            var o = parse.InvocationConfiguration.Output;
            foreach (var (check, verdict) in result.Verdicts()) o.WriteLine($"{check}: {verdict}");
            o.WriteLine($"wrote {json} and {html}");
            return 0;
        });
        return cmd;
    }
}
