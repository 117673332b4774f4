namespace RealTimeInference.Inference.Models;

/// <summary>
/// A host's own requirement on the models it serves (e.g. that a sensor model reads the fields the
/// server parses, in its order), checked at every load: a model that fails it is not served.
/// </summary>
public interface IModelCheck
{
    /// <summary>Why <paramref name="manifest"/>'s model cannot serve here; null when it can.</summary>
    string? Check(ModelManifest manifest);
}
