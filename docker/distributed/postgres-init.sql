-- One database per service (docker/compose.yaml); the image's entrypoint creates nextauth_idp itself.
CREATE DATABASE nextauth_ns OWNER nextauth;
CREATE DATABASE nextauth_sfs OWNER nextauth;
CREATE DATABASE nextauth_mc OWNER nextauth;
