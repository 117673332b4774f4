namespace RealTimeInference.Server.Predictions;

/// <summary>The optional labels of a reading: its own timestamp and which tool and sensor sent it.</summary>
internal readonly record struct ReadingLabels(string? Timestamp, string? ToolId, string? SensorId);
