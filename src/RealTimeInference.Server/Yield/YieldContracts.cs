using System.Text.Json;
using System.Text.Json.Serialization;

namespace RealTimeInference.Server.Yield;

/// <summary>A process state as clients send it to /predict-yield (documented in Swagger; parsed by <see cref="YieldStateJson"/>).</summary>
/// <param name="TemperatureSetpoint">Recipe chamber temperature, °C.</param>
/// <param name="PressureSetpoint">Recipe chamber pressure, mbar.</param>
/// <param name="FlowSetpoint">Recipe gas flow, sccm.</param>
/// <param name="ChamberAge">Wafers processed since the chamber's last maintenance.</param>
/// <param name="TemperatureOffset">Mean of the recent temperature readings minus the setpoint.</param>
/// <param name="TemperatureSd">Standard deviation of the recent temperature readings.</param>
/// <param name="PressureOffset">Mean of the recent pressure readings minus the setpoint.</param>
/// <param name="PressureSd">Standard deviation of the recent pressure readings.</param>
/// <param name="FlowOffset">Mean of the recent flow readings minus the setpoint.</param>
/// <param name="FlowSd">Standard deviation of the recent flow readings.</param>
internal sealed record ProcessStateRequest(
    double TemperatureSetpoint,
    double PressureSetpoint,
    double FlowSetpoint,
    double ChamberAge,
    double TemperatureOffset,
    double TemperatureSd,
    double PressureOffset,
    double PressureSd,
    double FlowOffset,
    double FlowSd);

/// <param name="PredictedYield">The model's forecast of the lot's measured yield (a fraction, 0..1 for a sound model).</param>
/// <param name="Model">Name of the model that answered.</param>
/// <param name="ModelVersion">Version of the model that answered.</param>
/// <param name="LatencyMs">Server time spent on this request, measured.</param>
internal sealed record YieldResponse(float PredictedYield, string Model, int ModelVersion, double LatencyMs);

/// <param name="Predictions">One forecast yield per process state, in request order.</param>
/// <param name="Count">States scored.</param>
/// <param name="Model">Name of the model that answered.</param>
/// <param name="ModelVersion">Version of the model that answered.</param>
/// <param name="LatencyMs">Server time spent on the whole request, measured.</param>
internal sealed record YieldBatchResponse(IReadOnlyList<float> Predictions, int Count, string Model, int ModelVersion, double LatencyMs);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ProcessStateRequest))]
[JsonSerializable(typeof(YieldResponse))]
[JsonSerializable(typeof(YieldBatchResponse))]
internal sealed partial class YieldJsonContext : JsonSerializerContext;
