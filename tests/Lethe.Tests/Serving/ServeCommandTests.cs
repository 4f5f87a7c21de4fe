// `lethe serve --adapter FILE` in its own process: an adapter file written by the library (a Key
// Space Detection box that holds every key vector, with its own refusal text) guards every request
// — chat and completion, streamed or not — with that refusal and finish_reason content_filter.
using System.Text;
using System.Text.Json.Nodes;
using Lethe.Tests.IO;
using Lethe.Unlearning;
using Xunit;

namespace Lethe.Tests.Serving;

public class ServeCommandTests
{
    [Fact]
    public async Task AnAdapterFileGuardsEveryRequest()
    {
        using var dir = new TempFolder();
        string adapter = dir.File("guard.ksd");
        int width = ServerFixture.Model.Config.IntermediateSize;
        var box = new HypercubeFit(new double[width], Enumerable.Repeat(1e9, width).ToArray(), 1);
        var detector = new KeySpaceDetector(new Dictionary<int, HypercubeFit> { [6] = box }, alpha: 1, refusal: "That subject was unlearned.");
        new UnlearningAdapter(AdapterMethods.KeySpaceDetection, detector, ModelIdentity.Of(ServerFixture.Model), Array.Empty<ProbeFileRecord>(), new JsonObject(), new JsonObject()).Save(adapter);

        var (server, url) = await ServerFixture.StartServeProcessAsync("--adapter", adapter);
        try
        {
            // After the address, where the model's weights are held: copied into memory for decoding
            // where there are 2 MB pages (ModelLoader.LoadForDecoding), else the f32 matrices stay mapped.
            Assert.Matches(Lethe.Tensors.LargePages.Enabled ? @"^weights: [\d.]+ MB dense in memory$" : @"^weights: [\d.]+ MB dense in memory, [\d.]+ MB dense mapped from the file$",
                await server.StandardOutput.ReadLineAsync());
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
            async Task<string> Post(string path, string body) =>
                await (await http.PostAsync(url + path, new StringContent(body, Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync();
            var chat = JsonNode.Parse(await Post("/chat/completions", """{"model":"lethe-demo","messages":[{"role":"user","content":"What is 2 + 3?"}],"max_tokens":8}"""))!;
            Assert.Equal("That subject was unlearned.", (string?)chat["choices"]![0]!["message"]!["content"]);
            Assert.Equal("content_filter", (string?)chat["choices"]![0]!["finish_reason"]);
            string stream = await Post("/completions", """{"model":"lethe-demo","prompt":"The river","max_tokens":8,"stream":true}""");
            Assert.Contains("\"text\":\"That subject was unlearned.\"", stream);
            Assert.Contains("\"finish_reason\":\"content_filter\"", stream);
            Assert.EndsWith("data: [DONE]\n\n", stream);
        }
        finally { await ServerFixture.StopAsync(server); }
    }
}
