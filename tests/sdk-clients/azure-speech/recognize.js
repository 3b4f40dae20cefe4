// Test-only: recognizes a 16 kHz mono 16-bit WAV with the official Azure Speech JS SDK against a given endpoint,
// printing one JSON line per SDK event (recognizing, recognized, canceled, sessionStopped). Used to check that our
// AzureSpeechDouble accepts what the real SDK sends and that the SDK accepts what the double answers.
// usage: node recognize.js <ws endpoint> <key> <wav file>
"use strict";
const fs = require("fs");
const sdk = require("microsoft-cognitiveservices-speech-sdk");

const [endpoint, key, wavPath] = process.argv.slice(2);
const wav = fs.readFileSync(wavPath);
const pcm = wav.subarray(44); // the caller gives a canonical 44-byte-header PCM WAV

const config = sdk.SpeechConfig.fromEndpoint(new URL(endpoint), key);
config.speechRecognitionLanguage = "en-US";
config.outputFormat = sdk.OutputFormat.Detailed;
const push = sdk.AudioInputStream.createPushStream(sdk.AudioStreamFormat.getWaveFormatPCM(16000, 16, 1));
for (let i = 0; i < pcm.length; i += 3200) push.write(pcm.buffer.slice(pcm.byteOffset + i, pcm.byteOffset + Math.min(i + 3200, pcm.length)));
push.close();

const recognizer = new sdk.SpeechRecognizer(config, sdk.AudioConfig.fromStreamInput(push));
const print = (o) => process.stdout.write(JSON.stringify(o) + "\n");
let finished = false;
const stop = (code) => {
  if (finished) return;
  finished = true;
  recognizer.stopContinuousRecognitionAsync(() => { recognizer.close(); process.exit(code); }, () => process.exit(code));
};
recognizer.recognizing = (_, e) => print({ event: "recognizing", text: e.result.text, offset: e.result.offset, duration: e.result.duration });
recognizer.recognized = (_, e) => {
  if (e.result.reason === sdk.ResultReason.RecognizedSpeech)
    print({ event: "recognized", text: e.result.text, offset: e.result.offset, duration: e.result.duration });
};
recognizer.canceled = (_, e) => {
  print({ event: "canceled", reason: sdk.CancellationReason[e.reason], code: sdk.CancellationErrorCode[e.errorCode], details: e.errorDetails });
  stop(e.reason === sdk.CancellationReason.EndOfStream ? 0 : 2);
};
recognizer.sessionStopped = () => { print({ event: "sessionStopped" }); stop(0); };
recognizer.startContinuousRecognitionAsync(() => print({ event: "started" }), (err) => { print({ event: "startFailed", details: String(err) }); process.exit(3); });
setTimeout(() => { print({ event: "timeout" }); process.exit(4); }, 60000).unref();
