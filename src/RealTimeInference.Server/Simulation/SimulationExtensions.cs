namespace RealTimeInference.Server.Simulation;

internal static class SimulationExtensions
{
    /// <summary>The fab simulator running inside the server (Simulator:*), feeding the sensor model and the stream.</summary>
    public static IServiceCollection AddSimulation(this IServiceCollection services)
    {
        services.AddOptions<SimulatorOptions>()
            .BindConfiguration(SimulatorOptions.Section)
            .Validate(o => o.Tools is >= 1 and <= 1000 && o.SensorsPerTool is >= 1 and <= 100, "Simulator:Tools must be within 1..1000 and SensorsPerTool within 1..100.")
            .Validate(o => o.RateHz is > 0 and <= 1000, "Simulator:RateHz must be within (0, 1000].")
            .Validate(o => o.AnomalyRate is >= 0 and <= 1, "Simulator:AnomalyRate must be within [0, 1].")
            .ValidateOnStart();
        services.AddHostedService<SimulatorService>();
        return services;
    }
}
