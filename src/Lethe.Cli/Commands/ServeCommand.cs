// `lethe serve MODEL [--adapter FILE]... [--dtype f32|bf16|q8_0] [--host 127.0.0.1] [--port 8000]
//  [--name ID] [--max-batch N] [--max-queue N] [--max-tokens N] [--max-body BYTES]`:
// an OpenAI-compatible HTTP server (GET /v1/models, POST /v1/chat/completions, POST /v1/completions)
// over one model, its unlearning adapters acting on every request. Parses, loads, starts
// (Lethe.Serving does the batching and the wire format, Serving/OpenAiServer the HTTP), prints the
// address it listens on, and serves until Ctrl-C. Without --threads the kernels use all cores but
// one, leaving one to Kestrel.
using System.CommandLine;
using Lethe.Cli.Serving;
using Lethe.Models.Generation;
using Lethe.Serving;
using Lethe.Tokenizers;
using Lethe.Unlearning;

namespace Lethe.Cli.Commands;

public static class ServeCommand
{
    public static Command Build()
    {
        var model = CliArgs.Model();
        var dtype = CliArgs.DType();
        var q8Fallback = CliArgs.Q8Fallback();
        var kvCache = CliArgs.KvCache();
        var adapters = new Option<string[]>("--adapter") { Description = "Apply an unlearning adapter written by `lethe unlearn` to every request (repeatable)" };
        var host = new Option<string>("--host") { Description = "Address to listen on (default: loopback only)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port to listen on (0: any free port)", DefaultValueFactory = _ => 8000 };
        var name = new Option<string?>("--name") { Description = "Model name clients send (default: the model folder's name)" };
        var maxBatch = new Option<int>("--max-batch") { Description = "Requests decoded together at most", DefaultValueFactory = _ => 16 };
        var maxQueue = new Option<int>("--max-queue") { Description = "Requests waiting at most; more get HTTP 429", DefaultValueFactory = _ => 64 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Largest max_tokens a request may ask for (also the default)", DefaultValueFactory = _ => 256 };
        var maxBody = new Option<long>("--max-body") { Description = "Largest request body in bytes", DefaultValueFactory = _ => 1L << 20 };
        var cmd = new Command("serve", "Serve a model over an OpenAI-compatible HTTP API (chat, completions, streaming), with unlearning adapters")
            { model, dtype, q8Fallback, kvCache, adapters, host, port, name, maxBatch, maxQueue, maxTokens, maxBody };
        cmd.SetAction(async (parse, cancel) =>
        {
            var serverOptions = new ServerOptions { Host = parse.GetValue(host)!, Port = parse.GetValue(port), MaxBodyBytes = parse.GetValue(maxBody) };
            serverOptions.Validate();
            var schedulerOptions = new SchedulerOptions { MaxBatch = parse.GetValue(maxBatch), MaxQueue = parse.GetValue(maxQueue), MaxTokens = parse.GetValue(maxTokens) };
            schedulerOptions.Validate();
            // The decode loop's kernel threads spin between jobs; without --threads they leave one
            // core to the HTTP side, which otherwise waits for CPU while the batch decodes.
            if (parse.GetValue(LetheCli.Threads) is null) Lethe.Tensors.Engine.Threads = ServeThreads();
            string modelPath = parse.GetValue(model)!;
            using var m = CliArgs.LoadModel(parse, model, dtype, q8Fallback, kvCache);
            var tokenizer = Tokenizer.Load(modelPath);
            var intervention = parse.GetValue(adapters) is { Length: > 0 } files
                ? InferenceIntervention.Combine(files.Select(f => UnlearningAdapter.Load(f).CreateIntervention(m, parse.GetValue(LetheCli.Seed))).ToArray())
                : null;
            using var scheduler = new BatchScheduler(m, tokenizer, intervention, schedulerOptions);
            var service = new OpenAiService(scheduler, parse.GetValue(name) ?? OpenAiService.ModelIdOf(modelPath));
            var error = parse.InvocationConfiguration.Error;
            await using var server = await OpenAiServer.StartAsync(service, serverOptions, error, cancel);
            var output = parse.InvocationConfiguration.Output;
            output.WriteLine($"lethe serve: {service.ModelId} on {server.Address.ToString().TrimEnd('/')}/v1 (batch {schedulerOptions.MaxBatch}, queue {schedulerOptions.MaxQueue}, max_tokens {schedulerOptions.MaxTokens}{(intervention is null ? "" : $", adapters: {string.Join(", ", parse.GetValue(adapters)!.Select(Path.GetFileName))}")}); Ctrl-C stops");
            output.WriteLine(m.MeasureWeightMemory());
            output.Flush();
            await server.RunUntilAsync(cancel);
            return 0;
        });
        return cmd;
    }

    /// <summary>Kernel threads for serving when --threads is not given: all cores but one.</summary>
    public static int ServeThreads() => Math.Max(1, Environment.ProcessorCount - 1);
}
