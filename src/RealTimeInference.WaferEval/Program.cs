using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using RealTimeInference.Fab.Wafers;
using RealTimeInference.Inference.Models;
using RealTimeInference.WaferEval.Evaluation;

// Scores the independent set (IndependentSet) with a wafer model as serving does (its model.json's
// preprocessing, then ONNX Runtime), and prints detection, false alarms and accuracy overall, per
// class, per die-grid band, per format and per rendering, and the confusion.
// Two splits from two seeds: "dev" (seed 1) was looked at while the preprocessing and the training
// data were developed; "test" (seed 2) only measures a model, never guides a change.
// Usage: WaferEval [--model models/wafer-defect] [--split dev|test] [--per-cell 2]
var values = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    values[args[i].TrimStart('-')] = args[i + 1];
}

var folder = values.GetValueOrDefault("model", "models/wafer-defect");
var split = values.GetValueOrDefault("split", "dev");
var seed = split switch
{
    "dev" => 1,
    "test" => 2,
    _ => throw new ArgumentException($"--split must be dev or test, not '{split}'."),
};
var perCell = int.Parse(values.GetValueOrDefault("per-cell", "2"), CultureInfo.InvariantCulture);
var manifest = ModelManifest.Load(Path.Combine(folder, ModelManifest.FileName));
var preprocessor = new ImagePreprocessor(manifest.Preprocessing ?? throw new InvalidDataException($"{folder}: not an image model."));
var version = Directory.GetDirectories(folder).Select(Path.GetFileName).Where(n => int.TryParse(n, out _)).Max(n => int.Parse(n!, CultureInfo.InvariantCulture));
using var sessionOptions = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
using var session = new InferenceSession(Path.Combine(folder, version.ToString(CultureInfo.InvariantCulture), "model.onnx"), sessionOptions);
var classes = manifest.Classes ?? WaferPatterns.Names;

var results = new List<(IndependentWafer Wafer, string Predicted, bool Defective)>();
var refused = new List<(IndependentWafer Wafer, string Reason)>();
var features = new float[preprocessor.TensorLength];
foreach (var wafer in IndependentSet.Generate(seed, perCell))
{
    var image = preprocessor.Preprocess(wafer.Image, features);
    if (image.Status == ImageStatus.NotAWafer)
    {
        // Serving answers these 422 not_a_wafer: counted, not scored.
        refused.Add((wafer, image.Reason!));
        continue;
    }

    if (!image.IsOk)
    {
        throw new InvalidDataException($"{wafer.Pattern} {wafer.GridBand} {wafer.Format} {wafer.Render}: {image.Message}");
    }

    using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, features.AsMemory(), [1, features.Length]);
    using var run = new RunOptions();
    using var outputs = session.Run(run, [manifest.Input!.Name], [input], [manifest.Output!.Name]);
    var probabilities = outputs[0].GetTensorDataAsSpan<float>();
    var best = 0;
    for (var c = 1; c < probabilities.Length; c++)
    {
        best = probabilities[c] > probabilities[best] ? c : best;
    }

    results.Add((wafer, classes[best], 1 - probabilities[0] >= manifest.Threshold));
}

void Report(string title, Func<IndependentWafer, string> key)
{
    Console.WriteLine($"\n{title,-14} {"n",5} {"accuracy",9} {"detection",10} {"false alarms",13}");
    foreach (var group in results.GroupBy(r => key(r.Wafer)).OrderBy(g => g.Key, StringComparer.Ordinal))
    {
        var defects = group.Where(r => r.Wafer.Pattern != WaferPattern.None).ToList();
        var clean = group.Where(r => r.Wafer.Pattern == WaferPattern.None).ToList();
        var accuracy = group.Count(r => r.Predicted == r.Wafer.Pattern.Name()) / (double)group.Count();
        var detection = defects.Count == 0 ? double.NaN : defects.Count(r => r.Defective) / (double)defects.Count;
        var falseAlarms = clean.Count == 0 ? double.NaN : clean.Count(r => r.Defective) / (double)clean.Count;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{group.Key,-14} {group.Count(),5} {accuracy,9:F3} {detection,10:F3} {falseAlarms,13:F3}"));
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{folder} v{version}, split {split} (seed {seed}), {results.Count} images, threshold {manifest.Threshold}"));
var total = results.Count + refused.Count;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"refused as not a wafer (422 not_a_wafer when served): {refused.Count} of {total} ({100.0 * refused.Count / total:F2} %)")
    + string.Concat(refused.GroupBy(r => (r.Reason, r.Wafer.Pattern, r.Wafer.GridBand, r.Wafer.Format, r.Wafer.Render))
        .Select(g => $"\n  {g.Key.Reason}: {g.Key.Pattern.Name()} {g.Key.GridBand} {g.Key.Format} {g.Key.Render} x{g.Count()}")));
Report("all", _ => "all");
Report("class", w => w.Pattern.Name());
Report("dies across", w => w.GridBand);
Report("format", w => w.Format);
Report("rendering", w => w.Render);
var defective = results.Where(r => r.Wafer.Pattern != WaferPattern.None).ToList();
Console.WriteLine($"\ndefective wafers under the threshold: {defective.Count(r => !r.Defective)} of {defective.Count} ({defective.Count(r => !r.Defective && r.Predicted == "none")} of them also most probably none)");
Console.WriteLine("\nconfusion (true class: predicted class and count)");
foreach (var pattern in WaferPatterns.All)
{
    var called = results.Where(r => r.Wafer.Pattern == pattern).GroupBy(r => r.Predicted).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal);
    Console.WriteLine($"{pattern.Name(),-10} " + string.Join(", ", called.Select(g => $"{g.Key} {g.Count()}")));
}
