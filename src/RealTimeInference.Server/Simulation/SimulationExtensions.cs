namespace RealTimeInference.Server.Simulation;

internal static class SimulationExtensions
{
    /// <summary>
    /// The fab simulator running inside the server (Simulator:*): readings for the sensor model and the stream, the
    /// tools' process for the optimizer, and the cluster tools' chambers' readings with context for their FDC models.
    /// </summary>
    public static IServiceCollection AddSimulation(this IServiceCollection services)
    {
        services.AddOptions<SimulatorOptions>()
            .BindConfiguration(SimulatorOptions.Section)
            .Validate(o => o.Tools is >= 1 and <= 1000 && o.SensorsPerTool is >= 1 and <= 100, "Simulator:Tools must be within 1..1000 and SensorsPerTool within 1..100.")
            .Validate(o => o.RateHz is > 0 and <= 1000, "Simulator:RateHz must be within (0, 1000].")
            .Validate(o => o.AnomalyRate is >= 0 and <= 1, "Simulator:AnomalyRate must be within [0, 1].")
            .Validate(o => o.ChamberTools is >= 0 and <= 1000, "Simulator:ChamberTools must be within 0..1000.")
            .Validate(o => o.FaultRate is >= 0 and <= 1, "Simulator:FaultRate must be within [0, 1].")
            .Validate(o => o.LotInterval >= TimeSpan.FromMilliseconds(10), "Simulator:LotInterval must be at least 00:00:00.01.")
            .ValidateOnStart();
        services.AddSingleton<FabProcess>();
        services.AddHostedService(sp => sp.GetRequiredService<FabProcess>());
        services.AddHostedService<SimulatorService>();
        services.AddHostedService<ChamberSimulatorService>();
        return services;
    }
}
