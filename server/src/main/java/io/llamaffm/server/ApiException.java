package io.llamaffm.server;

/**
 * A request the server answers with an OpenAI-style error body and a 4xx/5xx status:
 * {@code {"error":{"message":...,"type":...,"param":...,"code":...}}}.
 */
final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;

    ApiException(int status, String type, String message, String param, String code) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400 {@code invalid_request_error}, naming the request field at fault (or null). */
    static ApiException invalid(String message, String param, String code) {
        return new ApiException(400, "invalid_request_error", message, param, code);
    }

    /** 400 for a field whose value is out of range or of the wrong kind. */
    static ApiException invalidValue(String param, String message) {
        return invalid("Invalid value for '" + param + "': " + message, param, "invalid_value");
    }

    int status() {
        return status;
    }

    /** The body the client receives. */
    Responses.ErrorBody body() {
        return new Responses.ErrorBody(new Responses.Error(getMessage(), type, param, code));
    }
}
