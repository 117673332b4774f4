using System.Globalization;
using RealTimeInference.Fab.Chambers;
using RealTimeInference.Training;
using RealTimeInference.Training.Data;
using RealTimeInference.Training.Publishing;
using RealTimeInference.Training.Trainers;
using RealTimeInference.Training.Wafers;
using RealTimeInference.Training.Yield;

// Simulated sensor, wafer and process data -> ML.NET training -> ONNX export into models/<name>/, with held-out metrics.
var options = TrainingOptions.Parse(args, out var error);
if (options is null)
{
    Console.Error.WriteLine(error);
    Console.Error.WriteLine(TrainingOptions.Usage);
    return 2;
}

var data = SensorDataset.Create(options.Seed, options.TrainRows, options.HeldOutRows, options.HeldOutRows);
Console.WriteLine(data.Generator);

var trained = new List<TrainedModel>();
foreach (var spec in SensorTrainers.All)
{
    var model = ModelTrainer.Train(spec, data, options.Seed);
    var folder = ModelPublisher.Publish(options.OutputDirectory, model, data, options.Seed);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {folder} ({model.Onnx.Length} bytes of ONNX)"));
    trained.Add(model);
}

// Every chamber of the simulated cluster tools gets its own FDC models, as the default routing rules expect:
// one for its readings, one for its wafers' traces (--chamber-rows / 20 training wafers).
var chambers = new ChamberSimulator(new ChamberSimulatorOptions { Tools = options.ChamberTools }).Chambers;
for (var i = 0; i < chambers.Count; i++)
{
    var (tool, chamber, kind) = chambers[i];
    var chamberData = SensorDataset.ForChamber(options.Seed, options.ChamberTools, i, options.ChamberRows, Math.Max(options.ChamberRows / 4, TrainingOptions.MinimumRows));
    var traceData = SensorDataset.ForChamberTraces(options.Seed, options.ChamberTools, i, options.ChamberRows / 20, Math.Max(options.ChamberRows / 80, 100));
    foreach (var (spec, rows) in new[] { (SensorTrainers.ForChamber(tool, chamber, kind), chamberData), (SensorTrainers.ForChamberTraces(tool, chamber, kind), traceData) })
    {
        var model = ModelTrainer.Train(spec, rows, options.Seed);
        var folder = ModelPublisher.Publish(options.OutputDirectory, model, rows, options.Seed);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {folder} ({model.Onnx.Length} bytes of ONNX): {rows.Generator}"));
        trained.Add(model);
    }
}

SummaryTable.Write(Console.Out, trained);

var wafers = WaferDataset.Create(options.Seed, options.WafersPerClass, Math.Max(options.WafersPerClass / 4, 100), WaferTrainer.Preprocessing);
Console.WriteLine(wafers.Generator);
var wafer = WaferTrainer.Train(wafers, options.Seed);
var waferFolder = WaferPublisher.Publish(options.OutputDirectory, wafer, wafers, options.Seed);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {waferFolder} ({wafer.Onnx.Length} bytes of ONNX)"));
SummaryTable.Write(Console.Out, wafer);
var lots = YieldDataset.Create(options.Seed, options.YieldLots);
Console.WriteLine(lots.Generator);
var yieldModel = YieldTrainer.Train(lots, options.Seed);
var yieldFolder = YieldPublisher.Publish(options.OutputDirectory, yieldModel, lots, options.Seed);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {yieldFolder} ({yieldModel.Onnx.Length} bytes of ONNX)"));
SummaryTable.Write(Console.Out, yieldModel);

if (options.SamplesDirectory is { } samples)
{
    Console.WriteLine($"wrote {WaferDataset.WriteSamples(samples, options.Seed)} sample wafer images to {samples}");
}
return 0;
