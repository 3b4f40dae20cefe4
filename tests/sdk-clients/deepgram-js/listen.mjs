// Streams a 16-bit PCM WAV file to a Deepgram-compatible live endpoint with the official Deepgram JS SDK and prints,
// as one JSON line, every message received and how the connection closed.
// Usage: node listen.mjs <baseUrl ws://host:port> <apiKey> <file.wav> <model>
import { readFileSync } from "node:fs";
import { DeepgramClient } from "@deepgram/sdk";

const [, , baseUrl, apiKey, wavPath, model] = process.argv;

function pcmOf(wav) {
  // Walk the RIFF chunks to "fmt " and "data".
  let offset = 12, rate = 0, data = null;
  while (offset + 8 <= wav.length) {
    const id = wav.toString("ascii", offset, offset + 4);
    const size = wav.readUInt32LE(offset + 4);
    if (id === "fmt ") rate = wav.readUInt32LE(offset + 12);
    if (id === "data") data = wav.subarray(offset + 8, offset + 8 + size);
    offset += 8 + size + (size % 2);
  }
  if (!data) throw new Error("no data chunk");
  return { rate, data };
}

const { rate, data } = pcmOf(readFileSync(wavPath));
const client = new DeepgramClient({ apiKey, baseUrl });
const connection = await client.listen.v1.connect({
  model,
  encoding: "linear16",
  sample_rate: rate,
  interim_results: "true",
  reconnectAttempts: 0,
});
const messages = [];
const closed = new Promise((resolve) => connection.on("close", (event) => resolve({ code: event?.code, reason: event?.reason })));
connection.on("message", (message) => messages.push(message));
connection.on("error", (error) => console.error("sdk error:", error?.message ?? error));
connection.connect();
await connection.waitForOpen();

connection.sendKeepAlive({ type: "KeepAlive" });
for (let i = 0; i < data.length; i += 3200) connection.sendMedia(data.subarray(i, Math.min(i + 3200, data.length)));
connection.sendFinalize({ type: "Finalize" });
connection.sendCloseStream({ type: "CloseStream" });

const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("no close within 90 s")), 90_000).unref());
const close = await Promise.race([closed, timeout]);
console.log(JSON.stringify({ messages, close }));
process.exit(0);
