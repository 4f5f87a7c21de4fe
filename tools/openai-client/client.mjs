// Drives a Lethe server with the official OpenAI JavaScript client and prints what it saw as one JSON
// object: node client.mjs BASE_URL MODEL. Used by tests/Lethe.Tests/Serving/OpenAiClientTests.cs.
import OpenAI from "openai";

const [baseURL, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "not-needed", maxRetries: 0, timeout: 120000 });
const messages = [{ role: "user", content: "What is 2 + 3?" }];
const out = {};

out.models = (await client.models.list()).data.map((m) => m.id);

const chat = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
out.chat = { content: chat.choices[0].message.content, finish_reason: chat.choices[0].finish_reason, usage: chat.usage };

const stream = await client.chat.completions.create({ model, messages, max_tokens: 12, stream: true, stream_options: { include_usage: true } });
let streamed = "", finish = null, chunks = 0, usage = null;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) usage = chunk.usage;
  const choice = chunk.choices[0];
  if (!choice) continue;
  streamed += choice.delta?.content ?? "";
  if (choice.finish_reason) finish = choice.finish_reason;
}
out.stream = { content: streamed, finish_reason: finish, chunks, usage };

const completion = await client.completions.create({ model, prompt: "The river", max_tokens: 8, seed: 3, temperature: 0.7, stop: ["\n"] });
out.completion = { text: completion.choices[0].text, finish_reason: completion.choices[0].finish_reason };

const textStream = await client.completions.create({ model, prompt: "The river", max_tokens: 8, seed: 3, temperature: 0.7, stop: ["\n"], stream: true });
let text = "";
for await (const chunk of textStream) text += chunk.choices[0]?.text ?? "";
out.completionStream = text;

try {
  await client.chat.completions.create({ model: "no-such-model", messages });
  out.badModel = "no error";
} catch (e) {
  out.badModel = { status: e.status, message: e.error?.message ?? e.message, param: e.error?.param ?? null };
}
console.log(JSON.stringify(out));
