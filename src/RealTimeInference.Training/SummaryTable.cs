using System.Globalization;
using RealTimeInference.Training.Trainers;
using RealTimeInference.Training.Wafers;
using RealTimeInference.Training.Yield;

namespace RealTimeInference.Training;

internal static class SummaryTable
{
    public static void Write(TextWriter writer, IReadOnlyList<TrainedModel> models)
    {
        var culture = CultureInfo.InvariantCulture;
        writer.WriteLine(string.Create(
            culture,
            $"{"model",-22} {"auc",7} {"prec",7} {"recall",7} {"f1",7} {"acc",7} {"thresh",7} {"val_f1",7} {"parity",9} {"fit_s",6}  output"));
        foreach (var model in models)
        {
            var t = model.Test;
            writer.WriteLine(string.Create(
                culture,
                $"{model.Spec.Name,-22} {t.Auc,7:F4} {t.Precision,7:F4} {t.Recall,7:F4} {t.F1,7:F4} {t.Accuracy,7:F4} " +
                $"{model.Threshold,7:F4} {model.ValidationF1,7:F4} {model.ParityMaxAbsDiff,9:E1} {model.TrainingTime.TotalSeconds,6:F1}  " +
                $"{model.InputName} -> {model.OutputName}"));
        }
    }

    public static void Write(TextWriter writer, TrainedWaferModel model)
    {
        var (t, v) = (model.Test, model.Validation);
        writer.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{WaferTrainer.Name,-22} detection {t.DetectionRate:F4} false_alarms {t.FalseAlarmRate:F4} accuracy {t.Accuracy:F4} macro_f1 {t.MacroF1:F4} " +
            $"(validation macro_f1 {v.MacroF1:F4}) threshold {model.Threshold:F2} parity {model.ParityMaxAbsDiff:E1} fit_s {model.TrainingTime.TotalSeconds:F1}  " +
            $"{model.InputName} -> {model.OutputName}"));
        writer.WriteLine("confusion [true][predicted]: " + string.Join(" | ", t.ConfusionMatrix.Select(row => string.Join(' ', row))));
    }

    public static void Write(TextWriter writer, TrainedYieldModel model) =>
        writer.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{YieldTrainer.Name,-22} r2 {model.Test.RSquared:F4} mae {model.Test.MeanAbsoluteError:F4} rmse {model.Test.RootMeanSquaredError:F4} " +
            $"(validation r2 {model.Validation.RSquared:F4}) parity {model.ParityMaxAbsDiff:E1} fit_s {model.TrainingTime.TotalSeconds:F1}  {model.InputName} -> {model.OutputName}"));
}
